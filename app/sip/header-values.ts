import { parseUri, splitHostPort, type SipUri } from './uri.js'

/**
 * Structured views of header values a proxy needs (RFC 3261 §20, §25.1): lists
 * split at commas outside quotes and angle brackets, generic parameters,
 * Via, name-addr / addr-spec, CSeq. Each returns null for text that does not
 * match the grammar, so callers can answer 400.
 */

export type Params = Array<[string, string | null]>

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/
const PARAM_VALUE = /^(?:[A-Za-z0-9\-.!%*_+`'~:[\]]+|"(?:[^"\\]|\\[\s\S])*")$/

/** Split a header value at top-level commas (§7.3.1); null on unbalanced quotes or brackets. */
export function splitList(value: string): string[] | null {
  const out: string[] = []
  let angle = false
  let quoted = false
  let start = 0
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i)
    if (quoted) {
      if (ch === 92 /* \ */) i++
      else if (ch === 34 /* " */) quoted = false
    } else if (ch === 34) quoted = true
    else if (ch === 60 /* < */) {
      if (angle) return null
      angle = true
    } else if (ch === 62 /* > */) {
      if (!angle) return null
      angle = false
    } else if (ch === 44 /* , */ && !angle) {
      out.push(value.slice(start, i).trim())
      start = i + 1
    }
  }
  if (quoted || angle) return null
  out.push(value.slice(start).trim())
  return out
}

/** `;name[=value]` pairs; quoted values keep their quotes. Null when malformed. */
export function parseParams(text: string): Params | null {
  const params: Params = []
  if (text.trim() === '') return params
  if (!/^\s*;/.test(text)) return null
  for (const part of splitOutsideQuotes(text, ';').slice(1)) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    const value = eq === -1 ? null : part.slice(eq + 1).trim()
    if (!TOKEN.test(name) || (value !== null && !PARAM_VALUE.test(value))) return null
    params.push([name, value])
  }
  return params
}

export function param(params: Params, name: string): string | null | undefined {
  const lower = name.toLowerCase()
  for (const [n, v] of params) if (n.toLowerCase() === lower) return v
  return undefined
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = []
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '\\') i++
      else if (ch === '"') quoted = false
    } else if (ch === '"') quoted = true
    else if (ch === sep) {
      out.push(text.slice(start, i))
      start = i + 1
    }
  }
  out.push(text.slice(start))
  return out
}

export interface Via {
  protocol: string
  transport: string
  host: string
  port: number | null
  params: Params
  branch: string | null
  received: string | null
  /** RFC 3581: true for a bare `rport`, the port once filled in, null when absent. */
  rport: number | true | null
}

/** One Via value: `SIP/2.0/UDP host[:port];params` (§20.42). */
export function parseVia(value: string): Via | null {
  const m = /^\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+([^;\s]+(?:\s*:\s*\d+)?)\s*(;.*)?$/s.exec(value)
  if (!m) return null
  const hp = splitHostPort((m[4] as string).replace(/\s+/g, ''))
  if (!hp) return null
  const params = parseParams(m[5] ?? '')
  if (!params) return null
  const rport = param(params, 'rport')
  if (rport !== undefined && rport !== null && !/^\d{1,5}$/.test(rport)) return null
  return {
    protocol: `${m[1]}/${m[2]}`,
    transport: (m[3] as string).toUpperCase(),
    host: hp.host,
    port: hp.port,
    params,
    branch: param(params, 'branch') ?? null,
    received: param(params, 'received') ?? null,
    rport: rport === undefined ? null : rport === null ? true : Number(rport)
  }
}

export interface NameAddr {
  /** Display name without quotes or escapes; null when none. */
  displayName: string | null
  /** The URI text exactly as written. */
  uri: string
  /** Parsed when it is a SIP/SIPS URI; null for other schemes. */
  sipUri: SipUri | null
  /** Header parameters (after `>` in name-addr form, after the URI in addr-spec form). */
  params: Params
}

/** A From/To/Contact/Route value in name-addr or addr-spec form (§20.10, §20.20). */
export function parseNameAddr(value: string): NameAddr | null {
  const text = value.trim()
  let displayName: string | null = null
  let uri: string
  let rest: string
  const lt = findAngle(text)
  if (lt === -2) return null
  if (lt !== -1) {
    const gt = text.indexOf('>', lt)
    if (gt === -1) return null
    const name = text.slice(0, lt).trim()
    if (name.startsWith('"')) {
      const q = /^"((?:[^"\\]|\\[\s\S])*)"$/.exec(name)
      if (!q) return null
      displayName = (q[1] as string).replace(/\\([\s\S])/g, '$1')
    } else if (name) {
      if (!/^[A-Za-z0-9\-.!%*_+`'~]+(?:\s+[A-Za-z0-9\-.!%*_+`'~]+)*$/.test(name)) return null
      displayName = name
    }
    uri = text.slice(lt + 1, gt)
    rest = text.slice(gt + 1)
    if (/\s/.test(uri)) return null
  } else {
    // addr-spec: the URI may not contain ',', ';' or '?' (§20.10), so parameters start at the first ';'.
    const semi = text.indexOf(';')
    uri = (semi === -1 ? text : text.slice(0, semi)).trim()
    rest = semi === -1 ? '' : text.slice(semi)
    if (/[\s?]/.test(uri)) return null
  }
  if (!/^[A-Za-z][A-Za-z0-9+\-.]*:\S+$/.test(uri)) return null
  const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase()
  const sipUri = scheme === 'sip' || scheme === 'sips' ? parseUri(uri) : null
  if ((scheme === 'sip' || scheme === 'sips') && !sipUri) return null
  const params = parseParams(rest)
  if (!params) return null
  return { displayName, uri, sipUri, params }
}

/** Index of the `<` opening a name-addr, -1 when there is none, -2 when quotes are unbalanced. */
function findAngle(text: string): number {
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '\\') i++
      else if (ch === '"') quoted = false
    } else if (ch === '"') quoted = true
    else if (ch === '<') return i
  }
  return quoted ? -2 : -1
}

/** A name-addr with the display name quoted; line breaks in it become spaces (no header injection). */
export function formatNameAddr(na: { displayName: string | null; uri: string; params: Params }): string {
  const name = na.displayName === null ? '' : `"${na.displayName.replace(/["\\]/g, (c) => '\\' + c).replace(/[\r\n]/g, ' ')}" `
  return `${name}<${na.uri}>${formatParams(na.params)}`
}

export function formatParams(params: Params): string {
  return params.map(([n, v]) => (v === null ? `;${n}` : `;${n}=${v}`)).join('')
}

/** CSeq (§20.16): the number must fit 32 bits unsigned (§8.1.1.5). */
export function parseCSeq(value: string): { seq: number; method: string } | null {
  const m = /^\s*(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*$/.exec(value)
  if (!m) return null
  const seq = Number(m[1])
  return seq > 0xffffffff ? null : { seq, method: m[2] as string }
}
