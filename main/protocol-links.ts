/**
 * Call links the OS hands over: on Windows and Linux as an argument of a second
 * instance (`second-instance`), on macOS through `open-url`. They come from any web
 * page or document, so they are untrusted input (Electron security checklist:
 * "Do not use shell.openExternal with untrusted content" applies in reverse here —
 * nothing from a link reaches the SIP stack unchecked). A link becomes a call
 * target only; it never dials by itself.
 */

/** Schemes Parley registers as handler for (forge.config.ts, electron-builder.ts). */
export const PROTOCOL_SCHEMES = ['sip', 'sips', 'tel', 'callto'] as const
export type ProtocolScheme = (typeof PROTOCOL_SCHEMES)[number]

export interface CallLink {
  kind: 'call'
  /** A `sip:`, `sips:` or `tel:` URI, normalised and stripped of anything but the target. */
  uri: string
  /** The target as a person reads it (decoded, no scheme). */
  display: string
}

const MAX_LINK_LENGTH = 512
const MAX_DIGITS = 32
// C0/C1 controls and DEL: CRLF would inject SIP header lines.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
// Bidi overrides and zero-width characters make the display lie about the target.
const INVISIBLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/
const SCHEME = /^([a-z][a-z0-9+.-]*):/i
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
const HOSTNAME = new RegExp(`^(?:${LABEL}\\.)*${LABEL}\\.?$`, 'i')
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
const IPV6_REFERENCE = /^\[[0-9a-f:.]{2,45}\]$/i
// RFC 3261 §25.1 user = unreserved / escaped / user-unreserved. `;` and `?` are escaped
// too, so nothing in the user part can be read back as a parameter or header.
const USER_PLAIN = /[A-Za-z0-9\-_.!~*'()&=+$,/]/
// Parameters kept from a link (RFC 3261 §19.1.1); maddr, method, lr, ttl and unknown
// ones would redirect or change the request, so they are dropped.
const TRANSPORTS = new Set(['udp', 'tcp', 'tls', 'sctp', 'ws', 'wss'])

/** Parse one `sip:`, `sips:`, `tel:` or `callto:` link; null for anything else. */
export function parseProtocolLink(raw: string): CallLink | null {
  const link = raw.trim()
  if (link.length === 0 || link.length > MAX_LINK_LENGTH || CONTROL.test(link)) return null
  const match = SCHEME.exec(link)
  if (!match) return null
  const scheme = match[1]!.toLowerCase()
  const rest = link.slice(match[0].length)
  switch (scheme) {
    case 'sip':
    case 'sips':
      return parseSip(scheme, stripSlashes(rest))
    case 'tel':
      return parseTel(rest)
    case 'callto': {
      // callto: is Skype/NetMeeting's: a phone number or a name; only names with a
      // domain are callable here (Parley calls an address-of-record).
      const target = stripSlashes(rest)
      return target.includes('@') ? parseSip('sip', target) : parseTel(target)
    }
    default:
      return null
  }
}

/**
 * The first call link among a second instance's arguments. Chromium and Electron
 * add their own switches and the executable/app path; switches are skipped whole,
 * so a link inside `--name=value` is never taken.
 */
export function findLinkInArgv(argv: readonly string[]): CallLink | null {
  for (const arg of argv) {
    if (arg.startsWith('-')) continue
    const link = parseProtocolLink(arg)
    if (link) return link
  }
  return null
}

/** `scheme://target` as some pages write it; Windows may append a `/`. */
function stripSlashes(rest: string): string {
  if (!rest.startsWith('//')) return rest
  const target = rest.slice(2)
  return target.endsWith('/') ? target.slice(0, -1) : target
}

function parseSip(scheme: 'sip' | 'sips', rest: string): CallLink | null {
  // Headers (`?subject=…&route=…`) could set fields of the request: never taken.
  const uri = rest.split('?', 1)[0]!
  const at = uri.lastIndexOf('@')
  if (at <= 0) return null
  // A password in a link is never carried on (RFC 3261 §19.1.1 discourages it).
  const rawUser = uri.slice(0, at).split(':', 1)[0]!
  const [hostPort = '', ...params] = uri.slice(at + 1).split(';')
  const user = decode(rawUser)
  if (!user || /\s/.test(user)) return null
  const host = parseHostPort(hostPort)
  if (!host) return null
  const kept: string[] = []
  for (const param of params) {
    const [name = '', value = ''] = param.toLowerCase().split('=', 2)
    if (name === 'transport' && TRANSPORTS.has(value)) kept.push(`transport=${value}`)
    if (name === 'user' && value === 'phone') kept.push('user=phone')
  }
  const suffix = [...new Set(kept)].map((p) => `;${p}`).join('')
  return { kind: 'call', uri: `${scheme}:${encodeUser(user)}@${host}${suffix}`, display: `${user}@${host}` }
}

function parseHostPort(hostPort: string): string | null {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(hostPort)
  if (!m) return null
  const host = m[1]!.toLowerCase()
  if (!(IPV4.test(host) || IPV6_REFERENCE.test(host) || HOSTNAME.test(host))) return null
  if (m[2] === undefined) return host
  const port = Number(m[2])
  return port >= 1 && port <= 65535 ? `${host}:${port}` : null
}

/**
 * RFC 3966: a global number (`+` and digits) or a local one (digits, `*`, `#`);
 * visual separators are dropped, and so are parameters (`phone-context`, `ext`,
 * `isub`): the target is the digits.
 */
function parseTel(rest: string): CallLink | null {
  const number = decode(rest.split(';', 1)[0]!)
  if (number === null) return null
  const compact = number.replace(/[-.() ]/g, '')
  if (!/^\+?[0-9*#]+$/.test(compact)) return null
  const digits = compact.replace(/^\+/, '')
  if (digits.length > MAX_DIGITS || (compact.startsWith('+') && !/^[0-9]+$/.test(digits))) return null
  return { kind: 'call', uri: `tel:${compact}`, display: compact }
}

/** Percent-decoded text, or null when the encoding is broken or hides what it says. */
function decode(text: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(text)
  } catch {
    return null
  }
  if (decoded.length === 0 || CONTROL.test(decoded) || INVISIBLE.test(decoded)) return null
  return decoded
}

function encodeUser(user: string): string {
  let out = ''
  for (const ch of user) out += USER_PLAIN.test(ch) ? ch : encodeURIComponent(ch)
  return out
}
