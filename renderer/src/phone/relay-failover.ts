/**
 * When a call's media stops, who restarts ICE, and when. Pure: it is fed the
 * peer connection's state changes, the last selected path and the clock, and
 * answers with what to do; the caller runs the actions and calls `tick()` at
 * `deadline`.
 *
 *              connected                       connected (a blip: nothing done)
 *   new ────────────────────► up ◄─────────────────────────────┐
 *    │ failed                  │ disconnected                   │
 *    │                         ▼                                │
 *    │                    interrupted ──────────────────────────┘
 *    │                         │ failed, or disconnected for 2 s
 *    ▼                         ▼
 *   ┌──────── was our candidate a relay? ─────────┐
 *   │ yes: our relay died                          │ no: the far end's relay died,
 *   ▼ → failover (backup relay + ICE restart)      ▼ and the far end restarts
 *  recovering ◄──── 8 s after media stopped ── awaiting-remote
 *   │  │  ▲  → restart (the far end may be gone)   │ connected → up (by the remote)
 *   │  │  └─ 491 / offer in progress: restart again after 0.5–2 s (RFC 3261 §14.1)
 *   │  └──── 8 s without media: the same action again (the next backup), at most 4 times ──► gave-up
 *   └─ connected → up (by us)                                      connected → up
 *
 *   any state ── closed ──► closed
 *
 * "Our candidate" is the local candidate of the pair last selected while
 * connected (RFC 8445 §8.1.1); before any connection, whether the plan gave
 * us a relay. Only the side whose own relay died fails over, so the two ends
 * rarely restart at once; when they do, the re-INVITEs cross and each gets 491.
 */
export type RecoveryState = 'new' | 'up' | 'interrupted' | 'awaiting-remote' | 'recovering' | 'gave-up' | 'closed'

/** The peer connection's ICE and DTLS states joined into one. */
export type LinkState = 'new' | 'checking' | 'connected' | 'disconnected' | 'failed' | 'closed'

export type FailoverAction =
  /** Our relay died: drop the primary, take a backup's ICE servers, restart ICE. */
  | { type: 'failover' }
  /** Restart ICE with the ICE servers we have. */
  | { type: 'restart' }
  /** Media flows again; `by` says whose restart brought it back. */
  | { type: 'recovered'; by: 'local' | 'remote'; interruptedMs: number }

export interface RelayFailoverOptions {
  /** Whether the call's relay plan gave us a relay (used until a path is known). */
  relayPlanned: boolean
  /** How long `disconnected` may last before it counts as an outage. */
  disconnectGraceMs?: number
  /** How long after media stopped we wait for the far end's restart when our path was not relayed. */
  remoteGraceMs?: number
  /** How long one failover or restart may take before the next is tried. */
  recoveryTimeoutMs?: number
  /** The random wait before a restart that met glare is sent again. */
  glareRetryMs?: readonly [min: number, max: number]
  maxAttempts?: number
  random?: () => number
}

export function linkState(ice: string, connection: string): LinkState {
  if (ice === 'closed' || connection === 'closed') return 'closed'
  if (ice === 'failed' || connection === 'failed') return 'failed'
  if (ice === 'disconnected' || connection === 'disconnected') return 'disconnected'
  if (ice === 'connected' || ice === 'completed') return 'connected'
  return ice === 'new' ? 'new' : 'checking'
}

export class RelayFailover {
  private current: RecoveryState = 'new'
  private relayPlanned: boolean
  private localRelayed: boolean | null = null
  /** When media stopped. */
  private since: number | null = null
  /** The action this outage calls for, decided once when it began. */
  private remedy: 'failover' | 'restart' = 'restart'
  private attempts = 0
  /** Escalate (or, awaiting the remote, restart) at this time. */
  private escalateAt: number | null = null
  /** Send a restart that met glare again at this time. */
  private retryAt: number | null = null
  private readonly grace: number
  private readonly remoteGrace: number
  private readonly recoveryTimeout: number
  private readonly glare: readonly [number, number]
  private readonly maxAttempts: number
  private readonly random: () => number

  constructor(opts: RelayFailoverOptions) {
    this.relayPlanned = opts.relayPlanned
    this.grace = opts.disconnectGraceMs ?? 2_000
    this.remoteGrace = opts.remoteGraceMs ?? 8_000
    this.recoveryTimeout = opts.recoveryTimeoutMs ?? 8_000
    this.glare = opts.glareRetryMs ?? [500, 2_000]
    this.maxAttempts = opts.maxAttempts ?? 4
    this.random = opts.random ?? Math.random
  }

  get state(): RecoveryState {
    return this.current
  }

  /** When `tick()` is due next, if anything waits on the clock. */
  get deadline(): number | null {
    const times = [this.escalateAt, this.retryAt].filter((t): t is number => t !== null)
    return times.length ? Math.min(...times) : null
  }

  /** The plan changed: whether it holds a relay for us. */
  planned(relay: boolean): void {
    this.relayPlanned = relay
  }

  /** The selected pair, sampled while connected: is our candidate a relay? */
  path(localRelayed: boolean): void {
    this.localRelayed = localRelayed
  }

  ice(link: LinkState, now: number): FailoverAction[] {
    if (this.current === 'closed') return []
    if (link === 'closed') {
      this.current = 'closed'
      this.clearTimers()
      return []
    }
    if (link === 'connected') return this.connected(now)
    if (link === 'disconnected' && this.current === 'up') {
      this.current = 'interrupted'
      this.since = now
      this.escalateAt = now + this.grace
      return []
    }
    if (link === 'failed' && (this.current === 'new' || this.current === 'up' || this.current === 'interrupted')) {
      this.since ??= now
      return this.outage(now)
    }
    return []
  }

  /**
   * The restart's re-INVITE failed: 491 (the far end's crossed ours) or null
   * (an offer/answer was still in progress here) → send it again after a
   * random wait; anything else waits for the recovery timeout.
   */
  restartFailed(status: number | null, now: number): FailoverAction[] {
    if (this.current !== 'recovering') return []
    if (status === 491 || status === null) {
      const [min, max] = this.glare
      this.retryAt = now + min + this.random() * (max - min)
    }
    return []
  }

  tick(now: number): FailoverAction[] {
    if (this.retryAt !== null && now >= this.retryAt) {
      this.retryAt = null
      return [{ type: 'restart' }]
    }
    if (this.escalateAt === null || now < this.escalateAt) return []
    this.escalateAt = null
    switch (this.current) {
      case 'interrupted':
        return this.outage(now)
      case 'awaiting-remote':
        return this.attempt(this.ownRemedy(), now)
      case 'recovering':
        if (this.attempts >= this.maxAttempts) {
          this.current = 'gave-up'
          this.clearTimers()
          return []
        }
        return this.attempt(this.remedy, now)
      default:
        return []
    }
  }

  /** Media stopped for good: fail over if our relay carried it, else give the far end time first. */
  private outage(now: number): FailoverAction[] {
    const relayed = this.localRelayed ?? this.relayPlanned
    if (relayed) return this.attempt('failover', now)
    this.remedy = 'restart'
    this.current = 'awaiting-remote'
    const at = (this.since ?? now) + this.remoteGrace
    if (now >= at) return this.attempt(this.ownRemedy(), now)
    this.escalateAt = at
    return []
  }

  /**
   * After waiting for the far end: with a relay in our plan, fail over rather than
   * restart on the same servers — the relay that died may have been ours as well
   * (both ends' allocations on one super-node). The peer keeps a primary that still
   * answers its STUN probe, so this costs nothing when ours is alive.
   */
  private ownRemedy(): 'failover' | 'restart' {
    return this.relayPlanned ? 'failover' : 'restart'
  }

  private attempt(action: 'failover' | 'restart', now: number): FailoverAction[] {
    this.remedy = action
    this.current = 'recovering'
    this.attempts++
    this.retryAt = null
    this.escalateAt = now + this.recoveryTimeout
    return [{ type: action }]
  }

  private connected(now: number): FailoverAction[] {
    const was = this.current
    const since = this.since
    this.current = 'up'
    this.since = null
    this.attempts = 0
    this.clearTimers()
    if (since === null || was === 'interrupted') return []
    const by = was === 'awaiting-remote' ? 'remote' : 'local'
    return [{ type: 'recovered', by, interruptedMs: now - since }]
  }

  private clearTimers(): void {
    this.escalateAt = null
    this.retryAt = null
  }
}
