import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Server side of SIP digest authentication (RFC 3261 §22.4 with the RFC 7616
 * computations, RFC 8760 for SHA-256 in SIP). The same calls serve a UAS
 * (401 + WWW-Authenticate / Authorization) and a proxy or registrar acting as
 * one (407 + Proxy-Authenticate / Proxy-Authorization): the header names are
 * the caller's choice.
 *
 * Nonces are stateless — `base64url(timestamp ‖ HMAC-SHA256(secret, timestamp ‖ realm))`
 * — so a flood of unauthenticated requests costs no memory. The price is that
 * nonce counts are not tracked: a captured Authorization can be replayed for the
 * same method and digest-uri until its nonce expires (docs/digest-auth.md).
 */

/** Digest algorithms offered and accepted, strongest first. */
export type DigestAlgorithm = 'SHA-256' | 'MD5'
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5']

export type DigestFailure = 'missing' | 'malformed' | 'unknown-user' | 'bad-response' | 'stale' | 'wrong-realm' | 'unsupported-algorithm'
export type DigestVerdict = { ok: true; username: string; algorithm: DigestAlgorithm } | { ok: false; reason: DigestFailure }

/** HA1 for (username, realm) under `algorithm`, lowercase hex; undefined if no such account. */
export type Ha1Lookup = (username: string, realm: string, algorithm: DigestAlgorithm) => string | undefined

export interface DigestAuthenticatorOptions {
  realm: string
  /** HMAC key for nonces; random per process by default (nonces then die with a restart, answered with stale=true). */
  secret?: Buffer
  nonceTtlMs?: number
  now?: () => number
  /**
   * Algorithms challenged with and accepted, most preferred first. Default
   * SHA-256 then MD5; ['MD5'] for UAs that answer only the first challenge
   * and know only MD5.
   */
  algorithms?: readonly DigestAlgorithm[]
}

const NODE_HASH: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' }
const HEX_LENGTH: Record<DigestAlgorithm, number> = { 'SHA-256': 64, MD5: 32 }
const TIMESTAMP_BYTES = 8
const MAC_BYTES = 32
const NONCE_CHARS = Math.ceil(((TIMESTAMP_BYTES + MAC_BYTES) * 4) / 3)
/** Longer Authorization values are refused unparsed (bounded work per request). */
const MAX_HEADER_CHARS = 4096
/** A nonce stamped this far in the future (clock stepped back) is treated as expired. */
const MAX_CLOCK_SKEW_MS = 60_000
const UNKNOWN_HA1: Record<DigestAlgorithm, string> = { 'SHA-256': '0'.repeat(64), MD5: '0'.repeat(32) }

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(NODE_HASH[algorithm]).update(text, 'utf8').digest('hex')
}

/** H(username ":" realm ":" password) — RFC 7616 §3.4.2; what the account store keeps instead of passwords. */
export function ha1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hash(algorithm, `${username}:${realm}:${password}`)
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm
  ha1: string
  method: string
  uri: string
  nonce: string
  /** 'auth', or undefined for RFC 2069 compatibility (no nc/cnonce). */
  qop?: 'auth'
  nc?: string
  cnonce?: string
}

/** The request-digest (RFC 7616 §3.4.1; RFC 2069 form without qop). Usable by a UAC too. */
export function digestResponse(input: DigestResponseInput): string {
  const ha2 = hash(input.algorithm, `${input.method}:${input.uri}`)
  const ha1Hex = input.ha1.toLowerCase()
  return input.qop === 'auth'
    ? hash(input.algorithm, `${ha1Hex}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:auth:${ha2}`)
    : hash(input.algorithm, `${ha1Hex}:${input.nonce}:${ha2}`)
}

export interface DigestCredentials {
  username: string
  realm: string
  nonce: string
  uri: string
  response: string
  /** As sent (undefined when absent, which means MD5). */
  algorithm: string | undefined
  qop: string | undefined
  nc: string | undefined
  cnonce: string | undefined
  opaque: string | undefined
  userhash: string | undefined
}

/**
 * Parse an Authorization / Proxy-Authorization value: `Digest k=v, k="q\"s"`
 * (RFC 3261 §25.1 credentials). Keys are case-insensitive; unknown parameters
 * are ignored (auth-param extensions). Returns undefined for anything that is
 * not a well-formed Digest credential with the required parameters.
 */
export function parseDigestCredentials(value: string): DigestCredentials | undefined {
  if (value.length > MAX_HEADER_CHARS) return undefined
  const scheme = /^[ \t\r\n]*digest[ \t\r\n]+/i.exec(value)
  if (!scheme) return undefined
  const params = new Map<string, string>()
  let i = scheme[0].length
  const skipWs = () => {
    while (i < value.length && /[ \t\r\n]/.test(value[i] as string)) i++
  }
  while (true) {
    skipWs()
    const key = /^[A-Za-z0-9\-.!%*_+`'~]+/.exec(value.slice(i, i + 64))?.[0]
    if (!key) return undefined
    i += key.length
    skipWs()
    if (value[i] !== '=') return undefined
    i++
    skipWs()
    let v = ''
    if (value[i] === '"') {
      i++
      let closed = false
      while (i < value.length) {
        const ch = value[i] as string
        if (ch === '\\' && i + 1 < value.length) {
          v += value[i + 1]
          i += 2
        } else if (ch === '"') {
          closed = true
          i++
          break
        } else {
          v += ch
          i++
        }
      }
      if (!closed) return undefined
    } else {
      const token = /^[A-Za-z0-9\-.!%*_+`'~]+/.exec(value.slice(i, i + MAX_HEADER_CHARS))?.[0]
      if (!token) return undefined
      v = token
      i += token.length
    }
    const lower = key.toLowerCase()
    if (params.has(lower)) return undefined // RFC 7616 §3.4: each directive at most once
    params.set(lower, v)
    skipWs()
    if (i >= value.length) break
    if (value[i] !== ',') return undefined
    i++
  }
  const username = params.get('username')
  const realm = params.get('realm')
  const nonce = params.get('nonce')
  const uri = params.get('uri')
  const response = params.get('response')
  if (username === undefined || realm === undefined || !nonce || !uri || !response) return undefined
  return {
    username,
    realm,
    nonce,
    uri,
    response,
    algorithm: params.get('algorithm'),
    qop: params.get('qop'),
    nc: params.get('nc'),
    cnonce: params.get('cnonce'),
    opaque: params.get('opaque'),
    userhash: params.get('userhash')
  }
}

/**
 * Issues digest challenges and checks credentials against them.
 *
 * verify() steps, in order: parse → realm → algorithm → HA1 lookup → response
 * (constant-time) → nonce. The nonce is checked last on purpose: `stale` is
 * only reported to a client that proved it knows the password (RFC 7616 §3.3),
 * which covers expired nonces and nonces from before a restart alike.
 */
export class DigestAuthenticator {
  readonly realm: string
  readonly nonceTtlMs: number
  readonly algorithms: readonly DigestAlgorithm[]
  private readonly secret: Buffer
  private readonly now: () => number

  constructor(options: DigestAuthenticatorOptions) {
    if (!options.realm || [...options.realm].some((c) => c < ' ' || c === '\u007f')) throw new Error('realm must be non-empty printable text')
    this.realm = options.realm
    this.secret = options.secret ?? randomBytes(32)
    this.nonceTtlMs = options.nonceTtlMs ?? 5 * 60_000
    this.now = options.now ?? Date.now
    this.algorithms = [...new Set(options.algorithms ?? DIGEST_ALGORITHMS)]
    if (this.algorithms.length === 0 || this.algorithms.some((a) => !DIGEST_ALGORITHMS.includes(a))) {
      throw new Error(`algorithms must be a non-empty list of ${DIGEST_ALGORITHMS.join(', ')}`)
    }
  }

  /**
   * WWW-Authenticate (or Proxy-Authenticate) values for a 401 (407), one per
   * algorithm, most preferred first (RFC 8760, UAS behaviour): append each as
   * its own header. `stale` tells the UA to retry with the new nonce without
   * asking the user again (RFC 7616 §3.3).
   */
  challenge(opts: { stale?: boolean } = {}): string[] {
    const nonce = this.issueNonce()
    return this.algorithms.map(
      (algorithm) =>
        `Digest realm=${quote(this.realm)}, nonce="${nonce}", algorithm=${algorithm}, qop="auth"${opts.stale ? ', stale=true' : ''}`
    )
  }

  /**
   * Check an Authorization (or Proxy-Authorization) value. Pass the header with
   * `request.get(...)`, not `getAll` — getAll splits on the commas inside it.
   * Never throws on hostile input.
   */
  verify(request: { method: string; authorization: string | undefined }, lookupHa1: Ha1Lookup): DigestVerdict {
    const header = request.authorization
    if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' }
    const creds = parseDigestCredentials(header)
    if (!creds) return { ok: false, reason: 'malformed' }
    if (creds.realm !== this.realm) return { ok: false, reason: 'wrong-realm' }
    const algorithm = parseAlgorithm(creds.algorithm)
    if (!algorithm || !this.algorithms.includes(algorithm)) return { ok: false, reason: 'unsupported-algorithm' }
    // We never offer userhash (RFC 7616 §3.4.4) or auth-int, so a client using either is broken.
    if (creds.userhash !== undefined && creds.userhash.toLowerCase() !== 'false') return { ok: false, reason: 'malformed' }
    let qop: 'auth' | undefined
    if (creds.qop !== undefined) {
      if (creds.qop.toLowerCase() !== 'auth') return { ok: false, reason: 'malformed' }
      if (!creds.nc || !/^[0-9a-fA-F]{8}$/.test(creds.nc) || !creds.cnonce) return { ok: false, reason: 'malformed' }
      qop = 'auth'
    }
    if (!new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[algorithm]}}$`).test(creds.response)) return { ok: false, reason: 'malformed' }

    let stored: string | undefined
    try {
      stored = lookupHa1(creds.username, creds.realm, algorithm)
    } catch {
      stored = undefined
    }
    const known = stored !== undefined && new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[algorithm]}}$`).test(stored)
    // Same work for unknown users, so timing does not tell which usernames exist.
    const expected = digestResponse({ algorithm, ha1: known ? (stored as string) : UNKNOWN_HA1[algorithm], method: request.method, uri: creds.uri, nonce: creds.nonce, qop, nc: creds.nc, cnonce: creds.cnonce })
    const matches = timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(creds.response.toLowerCase(), 'latin1'))
    if (!known) return { ok: false, reason: 'unknown-user' }
    if (!matches) return { ok: false, reason: 'bad-response' }
    if (!this.nonceIsFresh(creds.nonce)) return { ok: false, reason: 'stale' }
    return { ok: true, username: creds.username, algorithm }
  }

  private issueNonce(): string {
    const stamp = Buffer.alloc(TIMESTAMP_BYTES)
    stamp.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))))
    return Buffer.concat([stamp, this.mac(stamp)]).toString('base64url')
  }

  /** Ours (MAC matches for this realm) and issued within the last nonceTtlMs. */
  private nonceIsFresh(nonce: string): boolean {
    if (nonce.length !== NONCE_CHARS || !/^[A-Za-z0-9_-]+$/.test(nonce)) return false
    const raw = Buffer.from(nonce, 'base64url')
    if (raw.length !== TIMESTAMP_BYTES + MAC_BYTES) return false
    const stamp = raw.subarray(0, TIMESTAMP_BYTES)
    if (!timingSafeEqual(raw.subarray(TIMESTAMP_BYTES), this.mac(stamp))) return false
    const age = this.now() - Number(stamp.readBigUInt64BE())
    return age <= this.nonceTtlMs && age >= -MAX_CLOCK_SKEW_MS
  }

  private mac(stamp: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(stamp).update(this.realm, 'utf8').digest()
  }
}

/** RFC 7616 §3.3: absent means MD5. The -sess variants are not offered, so not accepted. */
function parseAlgorithm(raw: string | undefined): DigestAlgorithm | undefined {
  if (raw === undefined) return 'MD5'
  return DIGEST_ALGORITHMS.find((a) => a.toLowerCase() === raw.toLowerCase())
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => '\\' + c)}"`
}
