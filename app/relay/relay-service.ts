import type { KeyPair } from 'hyperdht'
import type { Logger } from 'pino'
import type { Annoyance, RelayLimits, RelayPlan, RelayStatus, SuperNodeMode } from '../api/contract.js'
import { DEFAULT_RELAY_LIMITS } from '../api/contract.js'
import type { OverlayNode } from '../overlay/overlay-node.js'
import type { PeerConnections } from '../overlay/peer-connections.js'
import type { PeerSipFlow } from '../overlay/peer-sip-flow.js'
import type { RegistrationTimers } from '../overlay/registration.js'
import { annoyance, THRESHOLDS } from './annoyance.js'
import { CapacitySampler, type CpuBasis } from './capacity-sampler.js'
import { checkReachable } from './dht-role.js'
import { DEFAULT_POLICY, PromotionPolicy, type PolicyConfig, type ShareSample } from './promotion-policy.js'
import { RelayChannel } from './relay-channel.js'
import { RelaySelector, type Measured, type RelayConstraints } from './relay-selector.js'
import { relayTopic } from './relay-topic.js'
import { probeStun } from './stun-probe.js'
import { SuperNode } from './super-node.js'

export interface RelayOptions {
  mode?: SuperNodeMode
  /** TURN server address on a super-node (default: the DHT's host, any port). */
  turnHost?: string
  turnPort?: number
  /** How often capacity is sampled and the policy consulted. */
  sampleMs?: number
  policy?: Partial<PolicyConfig>
  thresholds?: { promote: number; demote: number }
  constraints?: Partial<RelayConstraints>
  limits?: RelayLimits
  /** Injected capacity probes (Electron's powerMonitor in the app; none headless). */
  idleS?: () => number | null
  onBattery?: () => boolean | null
  /** Replaces measured CPU shares (tests, and labs where many nodes share one machine). */
  cpuLoad?: () => { process: number; system: number }
  /** Whose CPU load counts in af() (`--relay-cpu`). */
  cpuBasis?: CpuBasis
  credentialTtlS?: number
  drainMs?: number
  /** While behind a NAT, how often to re-check whether others can reach us. */
  reachabilityCheckMs?: number
  /** Relay every call's media even when a direct path exists: hides this user's IP address from the callee. */
  alwaysRelay?: boolean
}

interface Deps {
  overlay: OverlayNode
  connections: PeerConnections
  keyPair: KeyPair
  registration: RegistrationTimers
  log: Logger
  /** Other super-node services (the mailbox): told after promotion and before stepping down. */
  services?: { promoted(): Promise<void>; steppingDown(): Promise<void> }
}

/**
 * The relay side of a peer: measures capacity, computes af(), runs the promotion
 * policy (becoming a super-node or stepping down), serves relay requests when it
 * is one, and chooses relays for its own calls and peer streams when it is not
 * reachable from outside.
 */
export class RelayService {
  private mode: SuperNodeMode
  private limits: RelayLimits
  private readonly sampler: CapacitySampler
  private readonly policy: PromotionPolicy
  private readonly thresholds: { promote: number; demote: number }
  readonly selector: RelaySelector
  private superNode: SuperNode | null = null
  private role: RelayStatus['role'] = 'client'
  private reason = 'starting'
  private since = new Date()
  private current: Annoyance
  private share: ShareSample | null = null
  private timer: NodeJS.Timeout | null = null
  private ticking: Promise<void> | null = null
  private closed = false
  private readonly channels = new WeakMap<object, RelayChannel>()
  private readonly startedAt = Date.now()
  /** Super-nodes' UDX addresses, to recognise streams relayed through them. */
  private readonly relayAddresses = new Map<string, string>()
  private reachabilityCheckedAt = 0

  constructor(
    private readonly deps: Deps,
    private readonly opts: RelayOptions = {}
  ) {
    this.mode = opts.mode ?? 'auto'
    this.limits = opts.limits ?? DEFAULT_RELAY_LIMITS
    this.thresholds = opts.thresholds ?? THRESHOLDS
    this.policy = new PromotionPolicy({ ...DEFAULT_POLICY, ...opts.policy })
    const dht = () => deps.overlay.dht
    this.sampler = new CapacitySampler({
      traffic: () => ({ bytesIn: dht().udx.bytesReceived, bytesOut: dht().udx.bytesTransmitted }),
      relayBytes: () => this.superNode?.turn.bytesRelayed ?? 0,
      relayedCalls: () => this.superNode?.turn.callLegs ?? 0,
      nat: () => ({ firewalled: dht().firewalled, randomized: dht().randomized }),
      idleS: opts.idleS,
      onBattery: opts.onBattery,
      cpuLoad: opts.cpuLoad,
      cpuBasis: opts.cpuBasis
    })
    this.current = annoyance(this.sampler.sample(), this.limits, this.thresholds)
    this.selector = new RelaySelector({
      announcers: async () => (await deps.overlay.lookupTopic(relayTopic())).keys,
      channel: (key) => this.channelTo(key),
      probe: (host, port) => probeStun(host, port),
      self: deps.keyPair.publicKey,
      constraints: opts.constraints,
      log: deps.log
    })
  }

  /** Every peer stream gets a relay channel beside SIP (both ends open one). */
  attach(flow: PeerSipFlow): void {
    if (this.channels.has(flow.stream)) return
    this.channels.set(flow.stream, new RelayChannel(flow.stream, () => this.superNode))
    this.superNode?.accept(flow.stream)
  }

  private async channelTo(key: Buffer): Promise<RelayChannel> {
    const flow = await this.deps.connections.flowTo(key)
    this.attach(flow)
    const raw = flow.stream.rawStream
    if (raw?.remoteHost && raw.remotePort) {
      const hex = key.toString('hex')
      this.relayAddresses.set(hex, `${raw.remoteHost}:${raw.remotePort}`)
      // The stream to the super-node ended (crash, network, shutdown): streams relayed through it are dead too.
      flow.once('close', () => this.dropRelayedThrough(hex))
    }
    return this.channels.get(flow.stream)!
  }

  /**
   * Close the peer streams that were blind-relayed through super-node `hex`: a
   * relayed stream's UDX socket points at the relay's address, and with the relay
   * gone it would only time out slowly. The next SIP request re-dials (through
   * another relay if needed), so an ICE-restart re-INVITE is not lost with it.
   */
  dropRelayedThrough(hex: string): number {
    const address = this.relayAddresses.get(hex)
    if (!address) return 0
    let closed = 0
    for (const flow of this.deps.connections.all()) {
      const raw = flow.stream.rawStream
      if (flow.remotePublicKey.toString('hex') === hex || !raw || `${raw.remoteHost}:${raw.remotePort}` !== address) continue
      flow.close(`relay ${hex.slice(0, 8)} gone`)
      closed++
    }
    if (closed) this.deps.log.info({ relay: hex.slice(0, 8), closed }, 'closed peer streams relayed through a dead relay')
    return closed
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.sampleMs ?? 5_000)
    this.timer.unref()
    void this.tick()
  }

  /** One round: sample, score, decide; overlapping rounds are skipped. */
  tick(): Promise<void> {
    this.ticking ??= this.round()
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, 'relay policy round failed'))
      .finally(() => (this.ticking = null))
    return this.ticking
  }

  private async round(): Promise<void> {
    if (this.closed) return
    const dht = this.deps.overlay.dht
    if (dht.firewalled && Date.now() - this.reachabilityCheckedAt >= (this.opts.reachabilityCheckMs ?? 60_000)) {
      this.reachabilityCheckedAt = Date.now()
      await checkReachable(dht)
    }
    this.current = annoyance(this.sampler.sample(), this.limits, this.thresholds)
    const a = this.current
    // Peers behind a NAT keep a fresh view of the relays they may need.
    if (a.inputs.firewalled || this.opts.alwaysRelay) await this.selector.gather().catch(() => [])
    const eligible = !a.inputs.firewalled && !a.veto && this.mode === 'auto' && this.role === 'client' && a.af < a.thresholds.promote
    if (eligible && a.inputs.uptimeS >= this.policy.config.minUptimeS) this.share = shareOf(await this.selector.gather().catch(() => []))
    if (this.role === 'stepping-down') return
    const decision = this.policy.decide({ role: this.role, mode: this.mode, annoyance: a, share: this.share, now: Date.now() })
    if (decision.role === 'super-node' && this.role === 'client') await this.promote(decision.reason)
    else if (decision.role === 'client' && this.role === 'super-node') await this.stepDown(decision.reason)
    else this.reason = decision.reason
  }

  private async promote(reason: string): Promise<void> {
    const dht = this.deps.overlay.dht
    try {
      this.superNode = await SuperNode.start(
        {
          dht,
          keyPair: this.deps.keyPair,
          turnHost: this.opts.turnHost ?? dht.address()?.host ?? '0.0.0.0',
          turnPort: this.opts.turnPort ?? 0,
          log: this.deps.log,
          registration: this.deps.registration,
          credentialTtlS: this.opts.credentialTtlS,
          drainMs: this.opts.drainMs
        },
        () => ({ af: this.current.af, demoteAt: this.thresholds.demote, maxCalls: this.limits.relayMaxCalls, uptimeS: this.uptimeS() })
      )
    } catch (err) {
      this.reason = `wanted to promote (${reason}) but could not: ${(err as Error).message}`
      this.deps.log.warn({ err: (err as Error).message }, 'promotion failed')
      return
    }
    this.setRole('super-node', reason)
    this.deps.log.info({ reason }, 'promoted to super-node')
    await this.deps.services?.promoted().catch((err: Error) => this.deps.log.warn({ err: err.message }, 'super-node services did not start'))
  }

  private async stepDown(reason: string): Promise<void> {
    const node = this.superNode
    if (!node) return
    this.setRole('stepping-down', reason)
    this.deps.log.info({ reason }, 'stepping down from super-node')
    // Hand-offs first: they need this node to be persistent still.
    await this.deps.services?.steppingDown().catch((err: Error) => this.deps.log.warn({ err: err.message }, 'hand-off failed'))
    await node.stepDown()
    if (this.superNode === node) this.superNode = null
    if (!this.closed) this.setRole('client', reason)
  }

  private setRole(role: RelayStatus['role'], reason: string): void {
    this.role = role
    this.reason = reason
    this.since = new Date()
  }

  private uptimeS(): number {
    return Math.round((Date.now() - this.startedAt) / 1000)
  }

  get isSuperNode(): boolean {
    return this.role === 'super-node'
  }

  async setMode(mode: SuperNodeMode): Promise<RelayStatus> {
    this.mode = mode
    await this.tick()
    return this.status()
  }

  setLimits(limits: RelayLimits): void {
    this.limits = limits
    this.current = annoyance(this.current.inputs, limits, this.thresholds)
  }

  /** Whether this peer needs a relay for media: only when nobody can reach it directly. */
  private need(): { needed: boolean; reason: string } {
    const { firewalled, randomized } = this.current.inputs
    if (this.opts.alwaysRelay) return { needed: true, reason: 'always relay (privacy: the callee never learns this address)' }
    if (!firewalled) return { needed: false, reason: 'reachable from outside: direct media' }
    return { needed: true, reason: randomized ? 'behind a symmetric NAT' : 'behind a NAT' }
  }

  planFor(callId: string): Promise<RelayPlan> {
    return this.selector.plan(callId, this.need())
  }

  /**
   * Media stopped on a call. A primary that still answers its STUN probe is kept
   * (the outage was elsewhere, e.g. the far end's relay); a dead one is dropped,
   * with the peer streams relayed through it, and a backup takes over.
   */
  async failover(callId: string, failed?: string): Promise<RelayPlan> {
    const primary = failed ?? this.selector.planOf(callId)?.candidates.find((c) => c.role === 'primary')?.publicKey
    if (primary && (await this.selector.stillAnswers(callId, primary))) {
      const kept = this.selector.keep(callId, `relay ${primary.slice(0, 8)} still answers: kept`)
      if (kept) return kept
    }
    if (primary) this.dropRelayedThrough(primary)
    return this.selector.failover(callId, primary)
  }

  /**
   * HyperDHT relayThrough: only a node behind a symmetric NAT relays its peer
   * streams (HyperDHT still punches in parallel and upgrades to direct when it can).
   * Streams to a super-node itself need no relay: super-nodes are reachable.
   */
  relayThrough(remote: Buffer | null): Buffer | null {
    if (!this.deps.overlay.dht?.randomized) return null
    if (remote && this.selector.isSuperNode(remote)) return null
    return this.selector.best()
  }

  status(): RelayStatus {
    const node = this.superNode
    return {
      mode: this.mode,
      role: this.role,
      reason: this.reason,
      since: this.since.toISOString(),
      annoyance: this.current,
      services: {
        turn: node ? { ...node.offer().turn! } : null,
        blindRelay: node !== null && !node.steppingDown,
        allocations: node?.turn.allocations ?? 0,
        blindSessions: node?.blindSessions ?? 0,
        freeSlots: node && !node.steppingDown ? node.freeSlots() : 0,
        refused: (node?.refused ?? 0) + (node?.turn.refused ?? 0)
      },
      sampledSuperNodes: this.share?.superNodes ?? 0
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    await this.ticking
    await this.superNode?.close()
    this.superNode = null
  }
}

function shareOf(measured: Measured[]): ShareSample {
  const offers = measured.flatMap((m) => (m.offer && m.offer.capacity > 0 ? [m.offer] : []))
  const meanLoad = offers.length ? offers.reduce((sum, o) => sum + (1 - o.freeSlots / o.capacity), 0) / offers.length : null
  return { superNodes: offers.length, meanLoad }
}
