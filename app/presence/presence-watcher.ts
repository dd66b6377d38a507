import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { canonicalAor, type Aor } from '../identity/aor.js'
import { createResponse, newBranch, newCallId, newTag, SipRequest, type SipResponse } from '../sip/message.js'
import { formatNameAddr } from '../sip/header-values.js'
import { peerKeyOf } from '../sip/proxy/local-addresses.js'
import { parseUri } from '../sip/uri.js'
import type { TransactionOutcome } from '../sip/transaction/send-request.js'
import { parsePidf, PIDF_CONTENT_TYPE, type PresenceInfo } from './pidf.js'
import {
  contactUri, dialogRequest, EVENT_PACKAGE, peerContact, settleWithin, eventPackage, parseExpires, parseSubscriptionState, recordRoutes, tagOf, type EventDialog
} from './event-dialog.js'

export interface BuddyPresence extends PresenceInfo {
  /** When this status was learnt (ISO 8601). */
  updatedAt: string
}

export interface PresenceWatcherOptions {
  /** Expires asked for in our SUBSCRIBEs (refreshed at 80 % of what is granted). */
  watchExpiresS: number
  /** Backoff after a failed subscription: from this, doubling, up to retryMaxMs. */
  retryMinMs: number
  retryMaxMs: number
  maxBuddies: number
}

export const DEFAULT_WATCHER_OPTIONS: PresenceWatcherOptions = {
  watchExpiresS: 600,
  retryMinMs: 5_000,
  retryMaxMs: 5 * 60_000,
  maxBuddies: 1000
}

export interface PresenceWatcherDeps {
  aor: Aor
  displayName: string | null
  /** This peer's `.parley.invalid` host (Via, Contact). */
  host: string
  publicKey: Buffer
  send: (req: SipRequest) => Promise<TransactionOutcome>
  options?: Partial<PresenceWatcherOptions>
  log: Logger
}

/**
 * A buddy's subscription, as the subscriber sees it:
 *
 *   idle ──watch──► subscribing ──2xx / NOTIFY──► active ──refresh 2xx──► active
 *                     ▲    │ failure                 │ refresh fails, NOTIFY terminated,
 *                     │    ▼                         │ peer stream closed (re-subscribe)
 *                     └─ waiting (backoff) ◄─────────┘
 */
type BuddyState = 'subscribing' | 'active' | 'waiting'

interface Buddy {
  aor: Aor
  state: BuddyState
  dialog: EventDialog | null
  /** Set once a 2xx or NOTIFY confirmed the dialog. */
  confirmed: boolean
  presence: BuddyPresence
  timer: NodeJS.Timeout | null
  retryMs: number
  expiresS: number
}

/**
 * Subscribes to buddies' presence (RFC 3856) and keeps the subscriptions alive:
 * refreshes before expiry, re-subscribes with backoff after failures, and
 * re-subscribes at once when the peer stream carrying a dialog closes, so a
 * crashed buddy shows offline within a connect timeout.
 */
export class PresenceWatcher extends EventEmitter<{ presence: [Aor, BuddyPresence] }> {
  private readonly buddies = new Map<Aor, Buddy>()
  /** Call-ID → buddy, for matching NOTIFYs (RFC 6665 §4.1.2.4: they may arrive before the 2xx). */
  private readonly byCallId = new Map<string, Buddy>()
  private readonly opts: PresenceWatcherOptions
  private closed = false

  constructor(private readonly deps: PresenceWatcherDeps) {
    super()
    this.opts = { ...DEFAULT_WATCHER_OPTIONS, ...deps.options }
  }

  private get contact(): string {
    return peerContact(this.deps.aor, this.deps.host)
  }

  presenceOf(aorText: string): BuddyPresence | null {
    const b = this.buddies.get(canonicalAor(aorText))
    return b ? { ...b.presence } : null
  }

  watching(): Aor[] {
    return [...this.buddies.keys()]
  }

  watch(aorText: string): BuddyPresence {
    const aor = canonicalAor(aorText)
    const existing = this.buddies.get(aor)
    if (existing) return { ...existing.presence }
    if (this.buddies.size >= this.opts.maxBuddies) throw new RangeError(`at most ${this.opts.maxBuddies} buddies can be watched`)
    const buddy: Buddy = {
      aor,
      state: 'waiting',
      dialog: null,
      confirmed: false,
      presence: { status: 'offline', note: null, updatedAt: new Date().toISOString() },
      timer: null,
      retryMs: this.opts.retryMinMs,
      expiresS: this.opts.watchExpiresS
    }
    this.buddies.set(aor, buddy)
    void this.subscribe(buddy)
    return { ...buddy.presence }
  }

  async unwatch(aorText: string): Promise<void> {
    const buddy = this.buddies.get(canonicalAor(aorText))
    if (!buddy) return
    this.buddies.delete(buddy.aor)
    await this.endDialog(buddy)
  }

  /** Unsubscribe (Expires: 0) and forget the dialog. */
  private async endDialog(buddy: Buddy): Promise<void> {
    if (buddy.timer) clearTimeout(buddy.timer)
    buddy.timer = null
    const dialog = buddy.dialog
    buddy.dialog = null
    if (!dialog) return
    this.byCallId.delete(dialog.callId)
    if (buddy.confirmed && dialog.remoteTag) {
      const req = dialogRequest(dialog, 'SUBSCRIBE', this.deps.host, this.contact).append('Expires', '0')
      await this.deps.send(req).catch(() => {})
    }
  }

  /** A new subscription (new dialog) to the buddy's AOR. */
  private async subscribe(buddy: Buddy): Promise<void> {
    if (this.closed || this.buddies.get(buddy.aor) !== buddy) return
    if (buddy.timer) clearTimeout(buddy.timer)
    buddy.timer = null
    if (buddy.dialog) this.byCallId.delete(buddy.dialog.callId)
    const dialog: EventDialog = {
      callId: newCallId(),
      localTag: newTag(),
      remoteTag: null,
      localUri: this.deps.aor,
      remoteUri: buddy.aor,
      remoteTarget: buddy.aor,
      routeSet: [],
      localCseq: 0,
      remoteCseq: 0
    }
    buddy.dialog = dialog
    buddy.confirmed = false
    buddy.state = 'subscribing'
    this.byCallId.set(dialog.callId, buddy)
    const req = new SipRequest('SUBSCRIBE', buddy.aor)
    req.append('Via', `SIP/2.0/PARLEY ${this.deps.host};branch=${newBranch()}`)
    req.append('Max-Forwards', '70')
    req.append('From', formatNameAddr({ displayName: this.deps.displayName || null, uri: this.deps.aor, params: [['tag', dialog.localTag]] }))
    req.append('To', `<${buddy.aor}>`)
    req.append('Call-ID', dialog.callId)
    req.append('CSeq', `${++dialog.localCseq} SUBSCRIBE`)
    req.append('Contact', `<${this.contact}>`)
    req.append('Event', EVENT_PACKAGE)
    req.append('Accept', PIDF_CONTENT_TYPE)
    req.append('Expires', String(buddy.expiresS))
    const outcome = await this.deps.send(req).catch((err: Error) => ({ kind: 'transport-error', reason: err.message }) as const)
    if (buddy.dialog !== dialog) return // superseded meanwhile
    const res = outcome.kind === 'response' ? outcome.response : null
    if (res && res.status < 300) {
      const routes = recordRoutes(res)
      // §12.1.2: the UAC's route set is the Record-Route reversed; the remote target its Contact.
      if (!buddy.confirmed) {
        dialog.remoteTag = tagOf(res.get('To'))
        dialog.routeSet = (routes ?? []).reverse()
        dialog.remoteTarget = contactUri(res) ?? dialog.remoteTarget
      }
      buddy.confirmed = true
      buddy.state = 'active'
      buddy.retryMs = this.opts.retryMinMs
      this.scheduleRefresh(buddy, parseExpires(res.get('Expires')) ?? buddy.expiresS)
      return
    }
    if (res?.status === 423) {
      // RFC 3261 §10.3 / RFC 6665 §4.1.2.1: ask again for at least Min-Expires.
      const min = parseExpires(res.get('Min-Expires'))
      if (min && min <= 24 * 3600 && min > buddy.expiresS) buddy.expiresS = min
    }
    this.failed(buddy, res ? `${res.status}` : outcome.kind)
  }

  private scheduleRefresh(buddy: Buddy, grantedS: number): void {
    if (buddy.timer) clearTimeout(buddy.timer)
    const ms = Math.max(500, Math.min(grantedS, buddy.expiresS) * 800)
    buddy.timer = setTimeout(() => void this.refresh(buddy), ms)
    buddy.timer.unref()
  }

  private async refresh(buddy: Buddy): Promise<void> {
    const dialog = buddy.dialog
    if (!dialog || this.closed) return
    const req = dialogRequest(dialog, 'SUBSCRIBE', this.deps.host, this.contact)
    req.append('Accept', PIDF_CONTENT_TYPE).append('Expires', String(buddy.expiresS))
    const outcome = await this.deps.send(req).catch((err: Error) => ({ kind: 'transport-error', reason: err.message }) as const)
    if (buddy.dialog !== dialog) return
    if (outcome.kind === 'response' && outcome.response.status < 300) {
      this.scheduleRefresh(buddy, parseExpires(outcome.response.get('Expires')) ?? buddy.expiresS)
      return
    }
    this.failed(buddy, outcome.kind === 'response' ? `refresh ${outcome.response.status}` : `refresh ${outcome.kind}`)
  }

  /** The subscription is gone: show offline, try again after the backoff. */
  private failed(buddy: Buddy, why: string, delayMs = buddy.retryMs): void {
    if (this.closed || this.buddies.get(buddy.aor) !== buddy) return
    this.deps.log.debug({ buddy: buddy.aor, why, retryInMs: delayMs }, 'presence subscription failed')
    if (buddy.dialog) this.byCallId.delete(buddy.dialog.callId)
    buddy.dialog = null
    buddy.confirmed = false
    buddy.state = 'waiting'
    this.update(buddy, { status: 'offline', note: null })
    if (buddy.timer) clearTimeout(buddy.timer)
    buddy.timer = setTimeout(() => void this.subscribe(buddy), delayMs)
    buddy.timer.unref()
    if (delayMs >= buddy.retryMs) buddy.retryMs = Math.min(buddy.retryMs * 2, this.opts.retryMaxMs)
  }

  private update(buddy: Buddy, info: PresenceInfo): void {
    const prev = buddy.presence
    if (prev.status === info.status && prev.note === info.note) return
    buddy.presence = { ...info, updatedAt: new Date().toISOString() }
    this.emit('presence', buddy.aor, { ...buddy.presence })
  }

  /** A NOTIFY that reached our own user (its Request-URI is our Contact or AOR). */
  handleNotify(req: SipRequest): SipResponse {
    const reply = (status: number, reason?: string) => createResponse(req, status, reason)
    const pkg = eventPackage(req)
    if (pkg === null) return reply(400, 'Missing Event Header')
    if (pkg !== EVENT_PACKAGE) return reply(489).append('Allow-Events', EVENT_PACKAGE)
    const buddy = this.byCallId.get(req.callId ?? '')
    const dialog = buddy?.dialog
    const remoteTag = tagOf(req.get('From'))
    if (!buddy || !dialog || tagOf(req.get('To')) !== dialog.localTag || !remoteTag || (dialog.remoteTag && dialog.remoteTag !== remoteTag && buddy.confirmed)) {
      return reply(481)
    }
    const subState = parseSubscriptionState(req.get('Subscription-State'))
    if (!subState) return reply(400, 'Bad Subscription-State')
    let info: PresenceInfo | null = null
    if (req.body.length > 0) {
      const type = (req.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase()
      if (type !== PIDF_CONTENT_TYPE) return reply(415).append('Accept', PIDF_CONTENT_TYPE)
      const parsed = parsePidf(req.body)
      if (!parsed.ok) return reply(400, 'Bad PIDF Body')
      info = parsed.presence
    }
    const cseq = req.cseq?.seq ?? 0
    if (cseq <= dialog.remoteCseq) return reply(500, 'Stale CSeq') // §12.2.2
    dialog.remoteCseq = cseq
    if (!dialog.remoteTag || !buddy.confirmed) {
      // The NOTIFY beat the 2xx (RFC 6665 §4.1.2.4): it creates the dialog; UAS-side route set order.
      dialog.remoteTag = remoteTag
      dialog.routeSet = recordRoutes(req) ?? []
      buddy.confirmed = true
    }
    const target = contactUri(req)
    if (target) dialog.remoteTarget = target // NOTIFY is a target refresh request (RFC 6665 §4.1.3)

    if (subState.state === 'terminated') {
      // RFC 6665 §4.1.3: after deactivated or timeout a new subscription may be tried at once.
      const now = subState.reason === 'deactivated' || subState.reason === 'timeout'
      const delay = subState.retryAfter !== null ? Math.max(subState.retryAfter * 1000, this.opts.retryMinMs) : now ? 0 : buddy.retryMs
      this.failed(buddy, `terminated;reason=${subState.reason ?? ''}`, delay)
    } else {
      if (buddy.state === 'subscribing' || buddy.state === 'waiting') buddy.state = 'active'
      if (info) this.update(buddy, info)
    }
    return reply(200)
  }

  /**
   * The peer stream to `publicKey` closed: every dialog routed over it is
   * re-subscribed now; if that peer is gone, the new SUBSCRIBE fails and the
   * buddy shows offline.
   */
  onPeerGone(publicKey: Buffer): void {
    for (const buddy of this.buddies.values()) {
      if (buddy.state !== 'active' || !buddy.dialog) continue
      if (this.peerOf(buddy.dialog)?.equals(publicKey)) void this.subscribe(buddy)
    }
  }

  /** The first other peer a dialog goes through: the first `.parley.invalid` host on its route set or target. */
  private peerOf(d: EventDialog): Buffer | null {
    for (const entry of [...d.routeSet, `<${d.remoteTarget}>`]) {
      const host = parseUri(entry.replace(/^[^<]*<|>.*$/g, ''))?.host
      const key = host ? peerKeyOf(host) : null
      if (key && !key.equals(this.deps.publicKey)) return key
    }
    return null
  }

  /** Unsubscribe from everyone, waiting at most `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return
    this.closed = true
    const all = [...this.buddies.values()].map((b) => this.endDialog(b))
    this.buddies.clear()
    await settleWithin(all, timeoutMs)
  }
}
