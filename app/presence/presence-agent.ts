import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { z } from 'zod'
import { canonicalAor, type Aor } from '../identity/aor.js'
import { createResponse, type SipRequest, type SipResponse } from '../sip/message.js'
import { parseNameAddr } from '../sip/header-values.js'
import type { TransactionOutcome } from '../sip/transaction/send-request.js'
import { readJsonFile, writeJsonFile } from '../store/json-file.js'
import { PresenceStatus } from '../api/contract.js'
import { clampNote, encodePidf, MAX_NOTE_CHARS, PIDF_CONTENT_TYPE, type PresenceInfo } from './pidf.js'
import {
  contactUri, dialogRequest, EVENT_PACKAGE, peerContact, settleWithin, eventPackage, parseExpires, recordRoutes, tagOf, type EventDialog
} from './event-dialog.js'

export interface PresenceAgentOptions {
  /** Shortest subscription granted (RFC 6665 §4.2.1.1); shorter requests get 423 with Min-Expires. */
  minExpiresS: number
  /** Longer requests are granted this much. */
  maxExpiresS: number
  /** RFC 3856 §6.4: when the SUBSCRIBE has no Expires. */
  defaultExpiresS: number
  maxSubscriptions: number
  maxPerWatcher: number
}

export const DEFAULT_AGENT_OPTIONS: PresenceAgentOptions = {
  minExpiresS: 60,
  maxExpiresS: 3600,
  defaultExpiresS: 3600,
  maxSubscriptions: 1000,
  maxPerWatcher: 8
}

export interface PresenceAgentDeps {
  aor: Aor
  /** This peer's `.parley.invalid` host: Via sent-by and the Contact that brings in-dialog requests back. */
  host: string
  /** Send a request through this peer's own proxy (the loopback flow). */
  send: (req: SipRequest) => Promise<TransactionOutcome>
  dataDir: string
  options?: Partial<PresenceAgentOptions>
  log: Logger
}

/** One watcher's subscription to our presence (the notifier's side of the dialog). */
interface Subscription {
  key: string
  watcher: string
  dialog: EventDialog
  expiresAt: number
  timer: NodeJS.Timeout | null
  /** A NOTIFY is in flight; `again` asks for one more with the then current state (one outstanding NOTIFY per dialog). */
  sending: Promise<void> | null
  again: boolean
  terminated: boolean
}

const OwnPresenceFile = z.object({ status: PresenceStatus, note: z.string().max(MAX_NOTE_CHARS).nullable() })

/**
 * The presence notifier for the peer's own AOR (RFC 3856 over RFC 6665):
 * answers SUBSCRIBE, keeps one subscription per watcher dialog, and sends a
 * NOTIFY with a PIDF body at once, on every change of our status, on expiry and
 * on close.
 *
 *            SUBSCRIBE (200 + NOTIFY active)
 *   (none) ───────────────────────────────► active ──refresh──► active
 *                                             │
 *       Expires: 0 / expiry / close ──────────┤ NOTIFY terminated;reason=timeout|deactivated
 *       NOTIFY answered 481, 408, … ──────────┴──────────────► (removed)
 */
export class PresenceAgent extends EventEmitter<{ changed: [PresenceInfo] }> {
  private readonly subs = new Map<string, Subscription>()
  private readonly opts: PresenceAgentOptions
  private readonly path: string
  private closing: Promise<void> | null = null

  private constructor(
    private readonly deps: PresenceAgentDeps,
    private state: PresenceInfo
  ) {
    super()
    this.opts = { ...DEFAULT_AGENT_OPTIONS, ...deps.options }
    this.path = join(deps.dataDir, 'presence.json')
  }

  static async open(deps: PresenceAgentDeps): Promise<PresenceAgent> {
    let saved: PresenceInfo | undefined
    try {
      saved = await readJsonFile(join(deps.dataDir, 'presence.json'), OwnPresenceFile)
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'own presence unreadable; starting as available')
    }
    return new PresenceAgent(deps, saved ?? { status: 'available', note: null })
  }

  get size(): number {
    return this.subs.size
  }

  own(): PresenceInfo {
    return { ...this.state }
  }

  /** Change our status: persisted, then every watcher is notified. */
  async setOwn(status: PresenceStatus, note?: string | null): Promise<PresenceInfo> {
    this.state = { status, note: note === undefined ? this.state.note : clampNote(note) }
    await writeJsonFile(this.path, this.state)
    this.emit('changed', this.own())
    for (const sub of this.subs.values()) this.notify(sub)
    return this.own()
  }

  /** A SUBSCRIBE for our own AOR (or our peer host). */
  handleSubscribe(req: SipRequest): SipResponse {
    const reply = (status: number, reason?: string) => createResponse(req, status, reason)
    const pkg = eventPackage(req)
    if (pkg === null) return reply(400, 'Missing Event Header')
    if (pkg !== EVENT_PACKAGE) return reply(489).append('Allow-Events', EVENT_PACKAGE)
    const expiresHeader = parseExpires(req.get('Expires'))
    if (expiresHeader === null) return reply(400, 'Bad Expires')
    const accept = req.getAll('Accept')
    if (accept.length && !accept.some((a) => /^\s*(application\/(pidf\+xml|\*)|\*\/\*)\s*(;|$)/i.test(a))) {
      return reply(406).append('Accept', PIDF_CONTENT_TYPE)
    }
    const cseq = req.cseq?.seq ?? 0
    const remoteTag = tagOf(req.get('From'))
    if (!remoteTag) return reply(400, 'Missing From Tag')
    const localTag = tagOf(req.get('To'))
    if (localTag) return this.refresh(req, localTag, remoteTag, expiresHeader, cseq)

    if (this.closing) return reply(480, 'Shutting Down')
    const target = contactUri(req)
    const routeSet = recordRoutes(req)
    if (!target || !routeSet) return reply(400, target ? 'Bad Record-Route' : 'Bad Contact')
    const expires = expiresHeader ?? this.opts.defaultExpiresS
    if (expires > 0 && expires < this.opts.minExpiresS) return reply(423).append('Min-Expires', String(this.opts.minExpiresS))
    const watcher = watcherOf(req)
    if (this.subs.size >= this.opts.maxSubscriptions) return reply(503, 'Too Many Subscriptions').append('Retry-After', '60')
    const own = [...this.subs.values()].filter((s) => s.watcher === watcher)
    // A phone that restarts without unsubscribing leaves stale dialogs; its oldest one makes room.
    if (own.length >= this.opts.maxPerWatcher) this.drop(own[0] as Subscription)

    const res = reply(200)
    const dialog: EventDialog = {
      callId: req.callId ?? '',
      localTag: tagOf(res.get('To')) ?? '',
      remoteTag,
      localUri: parseNameAddr(req.get('To') ?? '')?.uri ?? this.deps.aor,
      remoteUri: parseNameAddr(req.get('From') ?? '')?.uri ?? '',
      remoteTarget: target,
      routeSet, // §12.1.1: the UAS keeps Record-Route in order
      localCseq: 0,
      remoteCseq: cseq
    }
    const granted = Math.min(expires, this.opts.maxExpiresS)
    const sub: Subscription = { key: dialogKey(dialog.callId, dialog.localTag, remoteTag), watcher, dialog, expiresAt: 0, timer: null, sending: null, again: false, terminated: false }
    this.decorate(res, req, granted)
    if (granted === 0) {
      // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, already terminated.
      setImmediate(() => this.terminate(sub, 'timeout'))
      return res
    }
    this.subs.set(sub.key, sub)
    this.arm(sub, granted)
    // RFC 6665 §4.2.1.2: the first NOTIFY follows the 2xx at once.
    setImmediate(() => this.notify(sub))
    this.deps.log.debug({ watcher, expires: granted }, 'presence subscription')
    return res
  }

  private refresh(req: SipRequest, localTag: string, remoteTag: string, expiresHeader: number | undefined, cseq: number): SipResponse {
    const sub = this.subs.get(dialogKey(req.callId ?? '', localTag, remoteTag))
    if (!sub || sub.terminated) return createResponse(req, 481)
    if (cseq <= sub.dialog.remoteCseq) return createResponse(req, 500, 'Stale CSeq')
    sub.dialog.remoteCseq = cseq
    const target = contactUri(req)
    if (target) sub.dialog.remoteTarget = target // SUBSCRIBE is a target refresh request (RFC 6665 §4.1.2.2)
    const expires = expiresHeader ?? this.opts.defaultExpiresS
    if (expires > 0 && expires < this.opts.minExpiresS) return createResponse(req, 423).append('Min-Expires', String(this.opts.minExpiresS))
    const granted = this.closing ? 0 : Math.min(expires, this.opts.maxExpiresS)
    const res = this.decorate(createResponse(req, 200), req, granted)
    if (granted === 0) {
      setImmediate(() => this.terminate(sub, this.closing ? 'deactivated' : 'timeout'))
    } else {
      this.arm(sub, granted)
      setImmediate(() => this.notify(sub)) // §4.2.1.2: a refresh is answered with a NOTIFY too
    }
    return res
  }

  /** 200 to a SUBSCRIBE: Expires, our Contact, and the Record-Route copied (§12.1.1). */
  private decorate(res: SipResponse, req: SipRequest, granted: number): SipResponse {
    for (const rr of req.lines('Record-Route')) res.append('Record-Route', rr.value)
    return res.append('Expires', String(granted)).append('Contact', `<${this.contact}>`)
  }

  private get contact(): string {
    return peerContact(this.deps.aor, this.deps.host)
  }

  private arm(sub: Subscription, seconds: number): void {
    if (sub.timer) clearTimeout(sub.timer)
    sub.expiresAt = Date.now() + seconds * 1000
    sub.timer = setTimeout(() => this.terminate(sub, 'timeout'), seconds * 1000)
    sub.timer.unref()
  }

  private drop(sub: Subscription): void {
    sub.terminated = true
    if (sub.timer) clearTimeout(sub.timer)
    this.subs.delete(sub.key)
  }

  /** Send the current state; while one NOTIFY is outstanding, changes fold into one more. */
  private notify(sub: Subscription): void {
    if (sub.terminated) return
    if (sub.sending) {
      sub.again = true
      return
    }
    sub.sending = (async () => {
      do {
        sub.again = false
        const remaining = Math.max(1, Math.ceil((sub.expiresAt - Date.now()) / 1000))
        await this.sendNotify(sub, `active;expires=${remaining}`, this.state)
      } while (sub.again && !sub.terminated)
    })().finally(() => {
      sub.sending = null
    })
  }

  /** Final NOTIFY (RFC 6665 §4.2.2), then the subscription is gone. */
  private async terminate(sub: Subscription, reason: 'timeout' | 'deactivated'): Promise<void> {
    if (sub.terminated) return
    this.drop(sub)
    await sub.sending
    const body = reason === 'deactivated' ? { status: 'offline' as const, note: null } : this.state
    await this.sendNotify(sub, `terminated;reason=${reason}`, body, true)
  }

  private async sendNotify(sub: Subscription, state: string, info: PresenceInfo, final = false): Promise<void> {
    const req = dialogRequest(sub.dialog, 'NOTIFY', this.deps.host, this.contact)
    req.append('Subscription-State', state)
    req.append('Content-Type', PIDF_CONTENT_TYPE)
    req.body = Buffer.from(encodePidf(this.deps.aor, info), 'utf8')
    let outcome: TransactionOutcome
    try {
      outcome = await this.deps.send(req)
    } catch (err) {
      outcome = { kind: 'transport-error', reason: (err as Error).message }
    }
    const ok = outcome.kind === 'response' && outcome.response.status < 300
    if (!ok && !final) {
      // RFC 6665 §4.2.2: 481 means the watcher is gone; a timeout or failure means we cannot reach it.
      this.deps.log.debug({ watcher: sub.watcher, outcome: outcome.kind === 'response' ? outcome.response.status : outcome.kind }, 'NOTIFY failed; subscription dropped')
      this.drop(sub)
    }
  }

  /**
   * Graceful shutdown: every watcher gets a final NOTIFY (closed,
   * terminated;reason=deactivated) so it shows us offline at once; waits at
   * most `timeoutMs` for the answers.
   */
  close(timeoutMs: number): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.subs.values()].map((s) => this.terminate(s, 'deactivated'))
      await settleWithin(all, timeoutMs)
    })()
    return this.closing
  }
}

function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`
}

/** Who is watching, for the per-watcher bound: the From AOR, or the From URI when it is not a SIP AOR. */
function watcherOf(req: SipRequest): string {
  const uri = parseNameAddr(req.get('From') ?? '')?.uri ?? ''
  try {
    return canonicalAor(uri)
  } catch {
    return uri.slice(0, 512)
  }
}
