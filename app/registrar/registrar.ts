import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { aorHost, canonicalAor, type Aor } from '../identity/aor.js'
import { createResponse, type SipRequest, type SipResponse } from '../sip/message.js'
import { param, parseNameAddr, splitList } from '../sip/header-values.js'
import { DigestAuthenticator, type DigestAlgorithm } from '../sip/digest-auth.js'
import type { Destination } from '../sip/transaction/destination.js'
import type { AccountStore } from './account-store.js'
import type { BindingStore } from './binding-store.js'

export interface ExpiresPolicy {
  /** Shorter registrations get 423 with Min-Expires (§10.3 step 7). */
  min: number
  max: number
  default: number
}

/**
 * Which digest challenges a 401 carries, preferred first (RFC 8760 §2.4).
 * `md5` is the default: baresip 1.0 (libre) fails outright when any challenge
 * is SHA-256 (ENOSYS), and sipp 3.6 answers only the first challenge and knows
 * only MD5. Phones that do SHA-256 get it with `sha256-first` or `sha256`.
 */
export type DigestPolicy = 'md5' | 'md5-first' | 'sha256-first' | 'sha256'
export const DIGEST_POLICIES: Record<DigestPolicy, readonly DigestAlgorithm[]> = {
  md5: ['MD5'],
  'md5-first': ['MD5', 'SHA-256'],
  'sha256-first': ['SHA-256', 'MD5'],
  sha256: ['SHA-256']
}
const DEFAULT_DIGEST_ORDER = DIGEST_POLICIES.md5

export const DEFAULT_EXPIRES: ExpiresPolicy = { min: 60, max: 7200, default: 3600 }

export interface RegistrarOptions {
  bindings: BindingStore
  /** null: an open registrar that accepts any AOR without authentication. */
  accounts: AccountStore | null
  expires?: Partial<ExpiresPolicy>
  algorithms?: readonly DigestAlgorithm[]
  log: Logger
  now?: () => number
  /**
   * The peer's own user's AORs and whether a path is that user's own UI (the
   * renderer's socket, authorised by the web token or Electron IPC). Own AORs
   * are bound only from such a path or with an account's digest credentials.
   */
  own?: { aors: () => Aor[]; isOwnUi: (path: Destination) => boolean }
}

/**
 * The registrar (RFC 3261 §10.3) with digest authentication (RFC 8760):
 * several bindings per AOR, Expires from the Contact parameter or header,
 * min/max limits with 423, `*` to remove all, Call-ID/CSeq ordering.
 */
export class Registrar {
  private readonly expires: ExpiresPolicy
  private readonly authenticators = new Map<string, DigestAuthenticator>()
  /** One nonce key for every realm, so any authenticator can check any nonce it issued. */
  private readonly secret = randomBytes(32)
  private readonly now: () => number

  constructor(private readonly opts: RegistrarOptions) {
    this.expires = { ...DEFAULT_EXPIRES, ...opts.expires }
    this.now = opts.now ?? Date.now
  }

  handle(req: SipRequest, path: Destination): SipResponse {
    const to = parseNameAddr(req.get('To') ?? '')
    let aor: Aor
    try {
      if (!to?.sipUri) throw new Error('not a SIP URI')
      aor = canonicalAor(to.uri)
    } catch {
      return createResponse(req, 400, 'Bad To: Not A SIP AOR')
    }

    const denied = this.authenticate(req, aor, path)
    if (denied) return denied

    const contacts = req.lines('Contact').flatMap((h) => splitList(h.value) ?? [])
    const headerExpires = parseExpires(req.get('Expires'))
    const callId = req.callId ?? ''
    const cseq = req.cseq?.seq ?? 0

    if (contacts.includes('*')) {
      // §10.3 step 6: "*" only alone and with Expires: 0.
      if (contacts.length !== 1 || headerExpires !== 0) return createResponse(req, 400, 'Bad Wildcard Contact')
      for (const b of this.opts.bindings.lookup(aor)) {
        if (b.callId === callId && b.cseq >= cseq) return createResponse(req, 500, 'Out Of Order')
      }
      this.opts.bindings.remove(aor)
      return this.ok(req, aor)
    }

    const now = this.now()
    const updates: Array<{ remove: boolean; build: () => void }> = []
    for (const value of contacts) {
      const c = parseNameAddr(value)
      if (!c?.sipUri) return createResponse(req, 400, 'Bad Contact')
      const fromParam = parseExpires(param(c.params, 'expires') ?? undefined)
      let expires = fromParam ?? headerExpires ?? this.expires.default
      if (expires !== 0 && expires < this.expires.min) {
        return createResponse(req, 423, 'Interval Too Brief').append('Min-Expires', String(this.expires.min))
      }
      expires = Math.min(expires, this.expires.max)
      const existing = this.opts.bindings.find(aor, c.sipUri)
      if (existing && existing.callId === callId && existing.cseq >= cseq) return createResponse(req, 500, 'Out Of Order')
      const q = Number(param(c.params, 'q') ?? NaN)
      const contactUri = c.sipUri
      updates.push({
        remove: expires === 0,
        build: () =>
          expires === 0
            ? this.opts.bindings.remove(aor, contactUri)
            : this.opts.bindings.put({
                aor,
                contact: c.uri,
                contactUri,
                q: Number.isFinite(q) ? q : null,
                expiresAt: now + expires * 1000,
                callId,
                cseq,
                path
              })
      })
    }
    const adding = updates.filter((u) => !u.remove).length
    const live = this.opts.bindings.lookup(aor).length
    if (live + adding > this.opts.bindings.limits.maxPerAor) return createResponse(req, 403, 'Too Many Bindings')
    if (live === 0 && adding > 0 && this.opts.bindings.aorCount >= this.opts.bindings.limits.maxAors) {
      return createResponse(req, 503, 'Registrar Full').append('Retry-After', '60')
    }
    for (const u of updates) u.build()
    return this.ok(req, aor)
  }

  /** The AORs a REGISTER may bind without an account: none when authenticating. */
  get open(): boolean {
    return this.opts.accounts === null
  }

  private authenticate(req: SipRequest, aor: Aor, path: Destination): SipResponse | null {
    const own = this.opts.own
    if (own?.aors().includes(aor)) {
      if (own.isOwnUi(path)) return null
      if (!this.opts.accounts?.accountForAor(aor)) return createResponse(req, 403, 'Own AOR Is Bound Only By This Peer')
    }
    const accounts = this.opts.accounts
    if (!accounts) return null
    // The account's own realm (`accounts add --realm`); unknown AORs are challenged in their domain's.
    const realm = accounts.accountForAor(aor)?.realm ?? aorHost(aor)
    const auth = this.authenticator(realm)
    const verdict = auth.verify({ method: req.method, authorization: req.get('Authorization') }, (u, r, alg) => accounts.ha1For(u, r, alg))
    if (!verdict.ok) {
      if (verdict.reason !== 'missing') this.opts.log.info({ aor, reason: verdict.reason }, 'REGISTER authentication failed')
      const res = createResponse(req, 401, 'Unauthorized')
      for (const challenge of auth.challenge({ stale: verdict.reason === 'stale' })) res.append('WWW-Authenticate', challenge)
      return res
    }
    const account = accounts.accountFor(verdict.username, realm)
    if (!account || account.aor !== aor) return createResponse(req, 403, 'Forbidden')
    return null
  }

  private authenticator(realm: string): DigestAuthenticator {
    let auth = this.authenticators.get(realm)
    if (!auth) {
      auth = new DigestAuthenticator({ realm, secret: this.secret, algorithms: this.opts.algorithms ?? DEFAULT_DIGEST_ORDER, now: this.now })
      // Only realms of known accounts are cached, so a flood of made-up domains cannot grow the map.
      if (this.opts.accounts?.realms().has(realm.toLowerCase())) this.authenticators.set(realm, auth)
    }
    return auth
  }

  private ok(req: SipRequest, aor: Aor): SipResponse {
    const res = createResponse(req, 200)
    const now = this.now()
    for (const b of this.opts.bindings.lookup(aor)) {
      const q = b.q === null ? '' : `;q=${b.q}`
      res.append('Contact', `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}${q}`)
    }
    res.append('Date', new Date(now).toUTCString())
    return res
  }
}


/** Expires values (§20.19); anything out of range counts as absent (RFC 4475 §3.1.2.4 scalar02). */
function parseExpires(raw: string | null | undefined): number | undefined {
  if (raw === undefined || raw === null || !/^\s*\d{1,10}\s*$/.test(raw)) return undefined
  const n = Number(raw)
  return n > 0xffffffff ? undefined : n
}
