import type { IceServer, RelayCandidate, RelayPlan } from '../../../app/api/contract.js'
import type { RestartOutcome } from './ice-restart.js'
import { mediaPath, type MediaPath, type StatsEntry } from './media-path.js'
import { linkState, RelayFailover, type FailoverAction, type LinkState, type RecoveryState, type RelayFailoverOptions } from './relay-failover.js'

/** The peer's side of relaying (`relay.forCall`, `relay.failover`). */
export interface RelayService {
  forCall(callId: string): Promise<RelayPlan>
  failover(callId: string, failed: string | null): Promise<RelayPlan>
}

/** One time the call's media was brought back (or is being). */
export interface FailoverRecord {
  /** When we acted (failover, restart), or when media stopped (the far end's restart). */
  at: number
  /** failover: moved to a backup relay and restarted ICE; restart: ICE restart on the same servers; remote: the far end's restart brought media back. */
  kind: 'failover' | 'restart' | 'remote'
  /** The primary relay's public key before and after; null: none. */
  from: string | null
  to: string | null
  /** How long media was interrupted; null until it flows again. */
  interruptedMs: number | null
  /** Re-INVITEs sent (more than one after glare). */
  attempts: number
  error: string | null
}

/** What the call's diagnostics show. */
export interface CallRelayView {
  plan: RelayPlan | null
  /** Why the call went without relays: the plan request failed or timed out. */
  planError: string | null
  planMs: number | null
  path: MediaPath | null
  recovery: RecoveryState
  failovers: FailoverRecord[]
}

export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>)
}

/** The part of RTCPeerConnection watched and reconfigured here. */
export interface PeerConnectionLike {
  readonly iceConnectionState: string
  readonly connectionState: string
  addEventListener(type: 'iceconnectionstatechange' | 'connectionstatechange', fn: () => void): void
  removeEventListener(type: 'iceconnectionstatechange' | 'connectionstatechange', fn: () => void): void
  getStats(): Promise<{ values(): Iterable<unknown> }>
  getConfiguration(): { iceServers?: RTCIceServer[] }
  setConfiguration(config: { iceServers?: RTCIceServer[] }): void
}

export interface CallRelaysOptions {
  callId: string
  relays: RelayService
  /** An ICE restart through the call's signalling (`restartIce` in ice-restart.ts). */
  restartIce: () => Promise<RestartOutcome>
  onChange: (view: CallRelayView) => void
  clock?: Clock
  random?: () => number
  /** How long the peer may take to answer `relay.forCall` / `relay.failover`. */
  requestTimeoutMs?: number
  statsIntervalMs?: number
  failover?: Omit<RelayFailoverOptions, 'relayPlanned' | 'random'>
}

export function primaryRelay(plan: RelayPlan | null): RelayCandidate | null {
  return plan?.candidates.find((c) => c.role === 'primary') ?? null
}

/** New ICE servers on a live connection; they are used from the next gathering (the ICE restart). */
export function applyIceServers(pc: Pick<PeerConnectionLike, 'getConfiguration' | 'setConfiguration'>, iceServers: IceServer[]): void {
  pc.setConfiguration({ ...pc.getConfiguration(), iceServers })
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err))

/**
 * The relays of one call: asks the peer for the plan as soon as the call
 * exists (`iceServers`), sets the newest plan's ICE servers on the call's peer
 * connection, then watches it and runs the failover machine
 * (relay-failover.ts): fails the primary over to a backup, restarts ICE,
 * retries after glare, and keeps the diagnostics.
 */
export class CallRelays {
  /** Settles when the plan came, failed or took too long: its ICE servers, or none; never rejects. */
  readonly iceServers: Promise<IceServer[]>
  private readonly clock: Clock
  private readonly machine: RelayFailover
  private readonly timeoutMs: number
  private current: CallRelayView = { plan: null, planError: null, planMs: null, path: null, recovery: 'new', failovers: [] }
  private pc: PeerConnectionLike | null = null
  private link: LinkState = 'new'
  private machineTimer: unknown = null
  private statsTimer: unknown = null
  private closed = false
  private readonly onState = () => this.linkChanged()

  constructor(private readonly opts: CallRelaysOptions) {
    this.clock = opts.clock ?? systemClock
    this.timeoutMs = opts.requestTimeoutMs ?? 3_000
    this.machine = new RelayFailover({ ...opts.failover, relayPlanned: false, random: opts.random })
    this.iceServers = this.requestPlan()
  }

  view(): CallRelayView {
    return this.current
  }

  /** The newest plan's ICE servers: the first, a late one, or a backup's after a failover. */
  currentIceServers(): IceServer[] {
    return this.current.plan?.iceServers ?? []
  }

  /** Watch the call's peer connection (once JsSIP has made it); it gets the plan's servers from now on. */
  attach(pc: PeerConnectionLike): void {
    if (this.closed || this.pc) return
    this.pc = pc
    if (this.current.plan) applyIceServers(pc, this.current.plan.iceServers)
    pc.addEventListener('iceconnectionstatechange', this.onState)
    pc.addEventListener('connectionstatechange', this.onState)
    this.linkChanged()
    void this.sampleStats()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.clock.clearTimeout(this.machineTimer)
    this.clock.clearTimeout(this.statsTimer)
    this.pc?.removeEventListener('iceconnectionstatechange', this.onState)
    this.pc?.removeEventListener('connectionstatechange', this.onState)
  }

  private async requestPlan(): Promise<IceServer[]> {
    const started = this.clock.now()
    const request = this.opts.relays.forCall(this.opts.callId)
    try {
      const plan = await this.withTimeout(request, 'relay.forCall')
      this.machine.planned(primaryRelay(plan) !== null)
      this.usePlan(plan, { planMs: this.clock.now() - started })
      return plan.iceServers
    } catch (err) {
      const planError = `${errorText(err)}: calling without relays`
      this.update({ planError, planMs: this.clock.now() - started })
      // Too late for the first gathering, not for the next: an ICE restart
      // uses it. Not counted as our relay until media has flowed through it.
      void request.then(
        (plan) => {
          if (this.current.plan) return
          const ms = this.clock.now() - started
          this.usePlan(plan, { planMs: ms, planError: `${planError}; the plan came after ${(ms / 1000).toFixed(1)} s and is used from the next ICE restart` })
        },
        () => undefined
      )
      return []
    }
  }

  /** A plan to use from now on: shown, and its servers set on the connection for its next gathering. */
  private usePlan(plan: RelayPlan, also: Partial<CallRelayView> = {}): void {
    if (this.closed) return
    if (this.pc) applyIceServers(this.pc, plan.iceServers)
    this.update({ plan, ...also })
  }

  private withTimeout<T>(request: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => reject(new Error(`${what} gave no answer in ${this.timeoutMs / 1000} s`)), this.timeoutMs)
      request.then(
        (v) => (this.clock.clearTimeout(timer), resolve(v)),
        (e: unknown) => (this.clock.clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e))))
      )
    })
  }

  private linkChanged(): void {
    const pc = this.pc
    if (!pc || this.closed) return
    const link = linkState(pc.iceConnectionState, pc.connectionState)
    if (link === this.link) return
    this.link = link
    this.run(this.machine.ice(link, this.clock.now()))
    // The path a failure will be judged by: read it as soon as media flows.
    if (link === 'connected') void this.sampleStats()
  }

  private async sampleStats(): Promise<void> {
    const pc = this.pc
    if (!pc || this.closed) return
    this.clock.clearTimeout(this.statsTimer)
    this.statsTimer = this.clock.setTimeout(() => void this.sampleStats(), this.opts.statsIntervalMs ?? 1_000)
    const report = await pc.getStats().catch(() => null)
    if (!report || this.closed) return
    const path = mediaPath(report.values() as Iterable<StatsEntry>)
    if (path && this.link === 'connected') this.machine.path(path.localRelayed)
    if (JSON.stringify(path) !== JSON.stringify(this.current.path)) this.update({ path })
  }

  /** Run the machine's actions, then wake it at its next deadline. */
  private run(actions: FailoverAction[]): void {
    for (const action of actions) {
      if (action.type === 'failover') void this.failover()
      else if (action.type === 'restart') void this.restart()
      else this.recovered(action.by, action.interruptedMs)
    }
    this.clock.clearTimeout(this.machineTimer)
    const deadline = this.machine.deadline
    if (deadline !== null && !this.closed)
      this.machineTimer = this.clock.setTimeout(() => !this.closed && this.run(this.machine.tick(this.clock.now())), Math.max(0, deadline - this.clock.now()))
    if (this.current.recovery !== this.machine.state) this.update({ recovery: this.machine.state })
  }

  /** Our relay died: the peer drops it and promotes a backup; ICE restarts on the backup's servers. */
  private async failover(): Promise<void> {
    const from = primaryRelay(this.current.plan)?.publicKey ?? null
    // An earlier record still open in this outage never brought media back.
    this.editOpen((r) => ({ ...r, error: r.error ?? 'no media within the recovery time' }), true)
    this.addRecord({ kind: 'failover', from, to: null })
    try {
      const plan = await this.withTimeout(this.opts.relays.failover(this.opts.callId, from), 'relay.failover')
      if (this.closed) return
      this.machine.planned(primaryRelay(plan) !== null)
      this.usePlan(plan)
      this.editOpen((r) => ({ ...r, to: primaryRelay(plan)?.publicKey ?? null }))
    } catch (err) {
      this.editOpen((r) => ({ ...r, error: `relay.failover: ${errorText(err)}` }))
    }
    await this.restart()
  }

  private async restart(): Promise<void> {
    if (this.closed) return
    const primary = primaryRelay(this.current.plan)?.publicKey ?? null
    if (!this.openRecord()) this.addRecord({ kind: 'restart', from: primary, to: primary })
    this.editOpen((r) => ({ ...r, attempts: r.attempts + 1 }))
    const outcome = await this.opts.restartIce()
    if (this.closed || outcome.ok) return
    this.run(this.machine.restartFailed(outcome.status, this.clock.now()))
  }

  private recovered(by: 'local' | 'remote', interruptedMs: number): void {
    if (this.openRecord()) return this.editOpen((r) => ({ ...r, interruptedMs }), true)
    if (by === 'remote') this.addRecord({ kind: 'remote', from: null, to: null, interruptedMs, at: this.clock.now() - interruptedMs })
  }

  private openRecord(): FailoverRecord | undefined {
    const r = this.current.failovers.at(-1)
    return r && !this.closedRecords.has(r) ? r : undefined
  }

  /** Records whose outcome is known (media back, or superseded by the next failover). */
  private closedRecords = new WeakSet<FailoverRecord>()

  private addRecord(r: Pick<FailoverRecord, 'kind' | 'from' | 'to'> & Partial<FailoverRecord>): void {
    const record: FailoverRecord = { at: this.clock.now(), interruptedMs: null, attempts: 0, error: null, ...r }
    if (record.interruptedMs !== null) this.closedRecords.add(record)
    this.update({ failovers: [...this.current.failovers, record] })
  }

  private editOpen(edit: (r: FailoverRecord) => FailoverRecord, close = false): void {
    const open = this.openRecord()
    if (!open) return
    const next = edit(open)
    if (close) this.closedRecords.add(next)
    this.update({ failovers: [...this.current.failovers.slice(0, -1), next] })
  }

  private update(change: Partial<CallRelayView>): void {
    if (this.closed) return
    this.current = { ...this.current, ...change }
    this.opts.onChange(this.current)
  }
}
