import type { Logger } from 'pino'
import type { IceServer, RelayCandidate, RelayPlan } from '../api/contract.js'
import { RelayRequestError, type RelayChannel, type RelayOffer } from './relay-channel.js'

export interface RelayConstraints {
  /** Round-trip time to the relay's TURN port (STUN probe), at most. */
  maxRttMs: number
  /** Share of probes lost, at most. */
  maxLoss: number
  /** How long the super-node has been up, at least: a fresh one may vanish soon. */
  minUptimeS: number
}

export const DEFAULT_CONSTRAINTS: RelayConstraints = { maxRttMs: 400, maxLoss: 0.1, minUptimeS: 60 }

export interface SelectorDeps {
  /** Public keys announced on the relay topic (super-nodes). */
  announcers: () => Promise<Buffer[]>
  channel: (key: Buffer) => Promise<RelayChannel>
  probe: (host: string, port: number) => Promise<{ rttMs: number | null; loss: number }>
  self: Buffer
  log: Logger
  constraints?: Partial<RelayConstraints>
  now?: () => number
}

/** A super-node as last measured. */
export interface Measured {
  key: Buffer
  offer: RelayOffer | null
  rttMs: number | null
  loss: number | null
  /** Why it cannot be used; null if usable. */
  problem: string | null
}

const MAX_GATHER = 8
const GATHER_TIMEOUT_MS = 4_000
const CACHE_MS = 30_000
const EMPTY_CACHE_MS = 2_000
const DEAD_MS = 120_000
const MAX_PLANS = 256
const AF_BUCKET = 0.05

interface CallRelays {
  plan: RelayPlan
  /** Usable relays in preference order; [0] is the primary. */
  order: Measured[]
}

/**
 * Choosing relays for a call (OpenVoIP's selection): gather the super-nodes
 * announced on the relay topic, ask each for its offer over the encrypted peer
 * stream, probe its TURN port for RTT and loss, keep those meeting the
 * constraints, and rank by af — in buckets of 0.05, so near-equal nodes are
 * ordered by free slots and then at random, which spreads load. The first is
 * the primary (its credentials go to the call), the next two are backups for
 * failover. Every candidate and the reason for its role is kept for diagnostics.
 */
export class RelaySelector {
  private cache: { at: number; measured: Measured[] } | null = null
  private gathering: Promise<Measured[]> | null = null
  private readonly dead = new Map<string, number>()
  private readonly calls = new Map<string, CallRelays>()
  private readonly constraints: RelayConstraints

  constructor(private readonly deps: SelectorDeps) {
    this.constraints = { ...DEFAULT_CONSTRAINTS, ...deps.constraints }
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now()
  }

  /**
   * Super-nodes with their measurements. Fresh for 30 s; after that the last set is
   * still answered at once while a new one is measured, so a call never waits for
   * a gathering (up to 4 s) unless there has never been one.
   */
  gather(force = false): Promise<Measured[]> {
    const age = this.cache ? this.now() - this.cache.at : Infinity
    // A gathering that found nothing usable (a slow start, a network change) is not kept long.
    const freshFor = this.cache && this.rank(this.cache.measured).length ? CACHE_MS : EMPTY_CACHE_MS
    if (!force && age < freshFor) return Promise.resolve(this.cache!.measured)
    this.gathering ??= this.measureAll().finally(() => (this.gathering = null))
    if (!force && this.cache) {
      this.gathering.catch(() => {})
      return Promise.resolve(this.cache.measured)
    }
    return this.gathering
  }

  private async measureAll(): Promise<Measured[]> {
    const keys = (await this.deps.announcers()).filter((k) => !k.equals(this.deps.self)).slice(0, MAX_GATHER)
    const measured = await Promise.all(keys.map((key) => withTimeout(this.measure(key), GATHER_TIMEOUT_MS, { key, offer: null, rttMs: null, loss: null, problem: 'no answer in time' })))
    this.cache = { at: this.now(), measured }
    return measured
  }

  private async measure(key: Buffer): Promise<Measured> {
    let offer: RelayOffer
    try {
      offer = await (await this.deps.channel(key)).offer()
    } catch (err) {
      const problem = err instanceof RelayRequestError ? `${err.code}: ${err.message}` : `unreachable: ${(err as Error).message}`
      return { key, offer: null, rttMs: null, loss: null, problem }
    }
    if (!offer.turn) return { key, offer, rttMs: null, loss: null, problem: 'no TURN server' }
    const { rttMs, loss } = await this.deps.probe(offer.turn.host, offer.turn.port)
    return { key, offer, rttMs, loss, problem: this.violation(offer, rttMs, loss) }
  }

  private violation(offer: RelayOffer, rttMs: number | null, loss: number): string | null {
    const c = this.constraints
    if (rttMs === null) return 'TURN port did not answer'
    if (rttMs > c.maxRttMs) return `RTT ${rttMs} ms > ${c.maxRttMs} ms`
    if (loss > c.maxLoss) return `loss ${Math.round(loss * 100)} % > ${Math.round(c.maxLoss * 100)} %`
    if (offer.uptimeS < c.minUptimeS) return `up ${offer.uptimeS} s < ${c.minUptimeS} s`
    if (offer.freeSlots === 0) return 'no free relay slots'
    return null
  }

  /** Usable relays, best first. */
  rank(measured: Measured[]): Measured[] {
    const now = this.now()
    const usable = measured.filter((m) => m.problem === null && m.offer && !this.isDead(m.key, now))
    const keyed = usable.map((m) => ({ m, bucket: Math.floor(m.offer!.af / AF_BUCKET), free: m.offer!.freeSlots, tie: Math.random() }))
    keyed.sort((a, b) => a.bucket - b.bucket || b.free - a.free || a.tie - b.tie)
    return keyed.map((k) => k.m)
  }

  private isDead(key: Buffer, now: number): boolean {
    const until = this.dead.get(key.toString('hex'))
    return until !== undefined && until > now
  }

  /** Whether `key` answered as a super-node in the latest gathering. */
  isSuperNode(key: Buffer): boolean {
    return this.cache?.measured.some((m) => m.offer !== null && m.key.equals(key)) ?? false
  }

  /** The best relay now, for HyperDHT's relayThrough (peer streams); no I/O. */
  best(): Buffer | null {
    return this.cache ? (this.rank(this.cache.measured)[0]?.key ?? null) : null
  }

  /** Relays for a call: a primary with credentials in `iceServers`, two backups. */
  async plan(callId: string, needed: { needed: boolean; reason: string }): Promise<RelayPlan> {
    if (!needed.needed) return this.remember(callId, { plan: emptyPlan(callId, needed.reason), order: [] })
    let measured = await this.gather()
    if (this.rank(measured).length === 0) measured = await this.gather(true) // nothing usable known: measure now
    return this.choose(callId, needed.reason, measured)
  }

  /** Whether relay `hex` (as measured for this call) still answers a STUN probe on its TURN port. */
  async stillAnswers(callId: string, hex: string): Promise<boolean> {
    const m = this.calls.get(callId)?.order.find((x) => x.key.toString('hex') === hex) ?? this.cache?.measured.find((x) => x.key.toString('hex') === hex)
    if (!m?.offer?.turn) return false
    const { loss } = await this.deps.probe(m.offer.turn.host, m.offer.turn.port)
    return loss < 1
  }

  /** The call keeps its relays (the primary is alive): the same plan, saying so. */
  keep(callId: string, why: string): RelayPlan | null {
    const relays = this.calls.get(callId)
    if (!relays) return null
    relays.plan = { ...relays.plan, reason: why, chosenAt: new Date(this.now()).toISOString() }
    return relays.plan
  }

  /** The primary stopped carrying media: mark it dead, promote the next, fetch its credentials. */
  async failover(callId: string, failed?: string): Promise<RelayPlan> {
    const previous = this.calls.get(callId)
    const failedKey = failed ?? previous?.order[0]?.key.toString('hex')
    if (failedKey) this.dead.set(failedKey, this.now() + DEAD_MS)
    // The backups measured for this call come first: no new gathering before media is back.
    const known = previous?.order ?? [] // the failed one stays listed, as rejected
    const plan = await this.choose(callId, `failover from ${failedKey?.slice(0, 8) ?? 'unknown'}`, known)
    if (plan.iceServers.length === 0) {
      const fresh = await this.gather(true)
      return this.choose(callId, `failover from ${failedKey?.slice(0, 8) ?? 'unknown'}`, fresh)
    }
    void this.gather(true).catch(() => {})
    return plan
  }

  private async choose(callId: string, reason: string, measured: Measured[]): Promise<RelayPlan> {
    const ranked = this.rank(measured)
    const candidates = new Map<string, RelayCandidate>()
    for (const m of measured) candidates.set(m.key.toString('hex'), describe(m, 'rejected', m.problem ?? (this.isDead(m.key, this.now()) ? 'failed during a call' : 'not ranked')))
    const iceServers: IceServer[] = []
    const order: Measured[] = []
    for (const m of ranked) {
      const hex = m.key.toString('hex')
      if (iceServers.length === 0) {
        try {
          const grant = await (await this.deps.channel(m.key)).credentials(callId)
          iceServers.push({ urls: grant.urls, username: grant.username, credential: grant.credential })
          candidates.set(hex, describe(m, 'primary', `lowest af among usable (af ${m.offer!.af}, ${m.offer!.freeSlots} free, RTT ${m.rttMs} ms)`))
          order.push(m)
        } catch (err) {
          const why = err instanceof RelayRequestError ? `${err.code}: ${err.message}` : (err as Error).message
          candidates.set(hex, describe(m, 'rejected', `refused credentials (${why})`))
        }
        continue
      }
      if (order.length >= 3) {
        candidates.set(hex, describe(m, 'rejected', 'usable, but three relays are enough'))
        continue
      }
      candidates.set(hex, describe(m, 'backup', `backup ${order.length} (af ${m.offer!.af}, RTT ${m.rttMs} ms)`))
      order.push(m)
    }
    const why = iceServers.length ? reason : `${reason}; no usable relay (${measured.length} super-nodes measured)`
    const plan: RelayPlan = { callId, needed: true, reason: why, iceServers, candidates: [...candidates.values()], chosenAt: new Date(this.now()).toISOString() }
    this.deps.log.info({ callId, primary: order[0]?.key.toString('hex').slice(0, 8) ?? null, backups: order.length - 1 }, 'relays chosen')
    return this.remember(callId, { plan, order })
  }

  private remember(callId: string, relays: CallRelays): RelayPlan {
    this.calls.delete(callId)
    this.calls.set(callId, relays)
    while (this.calls.size > MAX_PLANS) this.calls.delete(this.calls.keys().next().value!)
    return relays.plan
  }

  planOf(callId: string): RelayPlan | null {
    return this.calls.get(callId)?.plan ?? null
  }
}

function describe(m: Measured, role: RelayCandidate['role'], reason: string): RelayCandidate {
  return {
    publicKey: m.key.toString('hex'),
    turn: m.offer?.turn ? `${m.offer.turn.host}:${m.offer.turn.port}` : null,
    af: m.offer?.af ?? null,
    freeSlots: m.offer?.freeSlots ?? null,
    uptimeS: m.offer?.uptimeS ?? null,
    rttMs: m.rttMs,
    loss: m.loss,
    role,
    reason
  }
}

function emptyPlan(callId: string, reason: string): RelayPlan {
  return { callId, needed: false, reason, iceServers: [], candidates: [], chosenAt: new Date().toISOString() }
}

function withTimeout<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
