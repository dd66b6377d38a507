/**
 * SIP and SIPS URIs (RFC 3261 §19.1, grammar §25.1), parsed without losing
 * anything a proxy must forward: parameters keep their order, case and escapes.
 * JsSIP's grammar is UA-oriented (it replaces the host with `maddr`, folds the
 * password into the user and lower-cases parameter values), so the proxy path
 * uses this small hand-written parser instead; see docs/sip-parser.md.
 */
export interface SipUri {
  scheme: 'sip' | 'sips'
  /** User part as written (escapes kept); null when absent. */
  user: string | null
  password: string | null
  /** Host as written; compare with `hostKey`. IPv6 references keep their brackets. */
  host: string
  port: number | null
  /** URI parameters in order, names as written; null value for a flag like `lr`. */
  params: Array<[string, string | null]>
  /** The `?headers` part without the `?`, escapes kept; null when absent. */
  headers: string | null
}

// RFC 3261 §25.1 character classes.
const USER_CHARS = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/
const PASSWORD_CHARS = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.?$/
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6_REF = /^\[[0-9A-Fa-f:.]+\]$/
const PARAM_CHARS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$]|%[0-9A-Fa-f]{2})+$/
const HEADERS_CHARS = /^(?:[A-Za-z0-9\-_.!~*'()[\]/?:+$=&]|%[0-9A-Fa-f]{2})*$/

export function parseUri(text: string): SipUri | null {
  const colon = text.indexOf(':')
  if (colon <= 0) return null
  const scheme = text.slice(0, colon).toLowerCase()
  if (scheme !== 'sip' && scheme !== 'sips') return null
  let rest = text.slice(colon + 1)
  let user: string | null = null
  let password: string | null = null
  // '@' appears nowhere else unescaped, while '?' and ';' may appear in the user part.
  const at = rest.indexOf('@')
  if (at !== -1) {
    const userinfo = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const pc = userinfo.indexOf(':')
    user = pc === -1 ? userinfo : userinfo.slice(0, pc)
    password = pc === -1 ? null : userinfo.slice(pc + 1)
    if (!USER_CHARS.test(user) || (password !== null && !PASSWORD_CHARS.test(password))) return null
  }
  let headers: string | null = null
  const q = rest.indexOf('?')
  if (q !== -1) {
    headers = rest.slice(q + 1)
    rest = rest.slice(0, q)
    if (!HEADERS_CHARS.test(headers)) return null
  }
  const [hostport = '', ...paramParts] = rest.split(';')
  const hp = splitHostPort(hostport)
  if (!hp) return null
  const params: Array<[string, string | null]> = []
  for (const part of paramParts) {
    const eq = part.indexOf('=')
    const name = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? null : part.slice(eq + 1)
    if (!PARAM_CHARS.test(name) || (value !== null && !PARAM_CHARS.test(value))) return null
    params.push([name, value])
  }
  return { scheme, user, password, host: hp.host, port: hp.port, params, headers }
}

export function splitHostPort(text: string): { host: string; port: number | null } | null {
  let host: string
  let portText: string | undefined
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    if (end === -1) return null
    host = text.slice(0, end + 1)
    const after = text.slice(end + 1)
    if (after && !after.startsWith(':')) return null
    portText = after ? after.slice(1) : undefined
    if (!IPV6_REF.test(host)) return null
  } else {
    const c = text.indexOf(':')
    host = c === -1 ? text : text.slice(0, c)
    portText = c === -1 ? undefined : text.slice(c + 1)
    if (!IPV4.test(host) && !HOSTNAME.test(host)) return null
  }
  let port: number | null = null
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return null
    port = Number(portText)
    if (port > 65535) return null
  }
  return { host, port }
}

export function formatUri(u: SipUri): string {
  let s = `${u.scheme}:`
  if (u.user !== null) s += u.user + (u.password !== null ? `:${u.password}` : '') + '@'
  s += u.host
  if (u.port !== null) s += `:${u.port}`
  for (const [name, value] of u.params) s += value === null ? `;${name}` : `;${name}=${value}`
  if (u.headers !== null) s += `?${u.headers}`
  return s
}

export function uriParam(u: SipUri, name: string): string | null | undefined {
  const lower = name.toLowerCase()
  for (const [n, v] of u.params) if (n.toLowerCase() === lower) return v
  return undefined
}

export function hostKey(host: string): string {
  return host.toLowerCase()
}

/** %HEX decoding for comparison (never applied twice, RFC 4475 §3.1.1.3). */
export function unescapeSip(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
}

const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport']

/**
 * URI equivalence (RFC 3261 §19.1.4): user and password case-sensitively after
 * unescaping, host case-insensitively, an explicit port never equals an absent
 * one, `user`/`ttl`/`method`/`maddr`/`transport` must agree when either has them,
 * other parameters only when both have them, headers all.
 */
export function uriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false
  if (unescapeSip(a.user ?? '') !== unescapeSip(b.user ?? '') || (a.user === null) !== (b.user === null)) return false
  if (unescapeSip(a.password ?? '') !== unescapeSip(b.password ?? '')) return false
  if (hostKey(a.host) !== hostKey(b.host) || a.port !== b.port) return false
  const pa = paramMap(a)
  const pb = paramMap(b)
  for (const name of new Set([...pa.keys(), ...pb.keys()])) {
    const inA = pa.has(name)
    const inB = pb.has(name)
    if (inA && inB) {
      if (!paramValueEquals(pa.get(name) ?? null, pb.get(name) ?? null)) return false
    } else if (SIGNIFICANT_PARAMS.includes(name)) return false
  }
  return headerMap(a) === headerMap(b)
}

function paramMap(u: SipUri): Map<string, string | null> {
  return new Map(u.params.map(([n, v]) => [unescapeSip(n).toLowerCase(), v === null ? null : unescapeSip(v)]))
}

function paramValueEquals(a: string | null, b: string | null): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase()
}

function headerMap(u: SipUri): string {
  if (!u.headers) return ''
  return u.headers
    .split('&')
    .map((h) => {
      const eq = h.indexOf('=')
      return `${unescapeSip(eq === -1 ? h : h.slice(0, eq)).toLowerCase()}=${unescapeSip(eq === -1 ? '' : h.slice(eq + 1))}`
    })
    .sort()
    .join('&')
}
