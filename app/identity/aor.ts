import Grammar from 'jssip/lib/Grammar.js'
import { ParleyError } from '../errors.js'

/** A user's address-of-record in canonical form, e.g. `sip:alice@example.org`. */
export type Aor = string & { readonly __aor: unique symbol }

const DEFAULT_PORT: Record<string, number> = { sip: 5060, sips: 5061 }
// RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved )
const USER_SAFE = /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/

/**
 * Canonicalise an AOR (RFC 3261 §10.3 step 5 and §19.1.4): scheme and host are
 * case-insensitive and lowered, the user part keeps its case with escapes
 * normalised, URI parameters and headers are removed, a default port is dropped.
 * Throws BAD_AOR with the reason for anything else.
 */
const CANONICAL_CACHE = new Map<string, Aor>()
const CANONICAL_CACHE_MAX = 10_000

/**
 * Canonicalise an AOR (see canonicalAorUncached). Memoised, bounded: the
 * registrar and proxy canonicalise on every request and the PEG grammar is slow.
 */
export function canonicalAor(input: string): Aor {
  const hit = CANONICAL_CACHE.get(input)
  if (hit !== undefined) return hit
  const aor = canonicalAorUncached(input)
  if (CANONICAL_CACHE.size >= CANONICAL_CACHE_MAX) CANONICAL_CACHE.clear()
  CANONICAL_CACHE.set(input, aor)
  return aor
}

function canonicalAorUncached(input: string): Aor {
  if (typeof input !== 'string' || input.length === 0) throw ParleyError.BAD_AOR(String(input), 'empty')
  if (input.length > 512) throw ParleyError.BAD_AOR(input.slice(0, 40) + '…', 'longer than 512 characters')
  const text = input.trim()
  if (!/^sips?:/i.test(text)) throw ParleyError.BAD_AOR(input, 'scheme must be sip: or sips:')
  let uri
  try {
    uri = Grammar.parse(text, 'SIP_URI')
  } catch {
    uri = -1 as const // the grammar's escape decoding throws on bad UTF-8
  }
  if (uri === -1) throw ParleyError.BAD_AOR(input, 'not a SIP URI (RFC 3261 §19.1)')
  if (!uri.user) throw ParleyError.BAD_AOR(input, 'a user part is required (user@host)')
  if (/^[^:]*:/.test(userPartOf(text))) throw ParleyError.BAD_AOR(input, 'passwords do not belong in an address')
  const scheme = uri.scheme.toLowerCase()
  const port = uri.port !== undefined && uri.port !== DEFAULT_PORT[scheme] ? `:${uri.port}` : ''
  return `${scheme}:${escapeUser(uri.user)}@${uri.host.toLowerCase()}${port}` as Aor
}

export function isAor(input: string): boolean {
  try {
    return canonicalAor(input) === input
  } catch {
    return false
  }
}

/** The user part of an AOR (before the `@`), unescaped. */
export function aorUser(aor: Aor): string {
  return decodeURIComponent(userPartOf(aor))
}

/** The host of an AOR without its port: the default digest realm (RFC 3261 §22.1). */
export function aorHost(aor: Aor): string {
  const host = aor.slice(aor.lastIndexOf('@') + 1)
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  return host.replace(/:\d+$/, '')
}

function userPartOf(uri: string): string {
  const rest = uri.slice(uri.indexOf(':') + 1)
  const at = rest.lastIndexOf('@')
  return at === -1 ? '' : rest.slice(0, at)
}

function escapeUser(user: string): string {
  let out = ''
  for (const ch of user) {
    if (USER_SAFE.test(ch)) out += ch
    else for (const byte of Buffer.from(ch, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}
