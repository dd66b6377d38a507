import { createHash } from 'node:crypto'
import type HyperDHT from 'hyperdht'
import type { KeyPair, NoiseSecretStream } from 'hyperdht'
import BlindRelay, { type Server as BlindRelayServer } from 'blind-relay'
import type { Logger } from 'pino'
import type { Aor } from '../identity/aor.js'
import { Registration, type RegistrationTimers } from '../overlay/registration.js'
import { becomeEphemeral, becomePersistent } from './dht-role.js'
import type { RelayOffer, RelayRefusal, TurnGrant } from './relay-channel.js'
import { relayTopic } from './relay-topic.js'
import { TurnService } from './turn-service.js'
import { mintTurnCredentials, newTurnSecret } from './turn-credentials.js'

export interface SuperNodeOptions {
  dht: HyperDHT
  keyPair: KeyPair
  /** Where the TURN server binds (its UDP port; 0 = any free one). */
  turnHost: string
  turnPort: number
  log: Logger
  registration: RegistrationTimers
  /** How long TURN credentials live. */
  credentialTtlS?: number
  /** How long stepping down waits for relayed calls to end before closing. */
  drainMs?: number
}

/** Live limits and state the node's policy supplies. */
export interface SuperNodeLoad {
  af: number
  demoteAt: number
  maxCalls: number
  uptimeS: number
}

const GRANT_RESERVE_MS = 15_000

/**
 * The services a super-node runs for others: it is a persistent DHT node, a
 * blind relay for peer streams (HyperDHT's `relayThrough`), a TURN server for
 * media with per-call credentials, and it announces its relay offer on the relay
 * topic. It never takes work beyond the declared capacity — new work is refused
 * with a code, calls in progress are left alone — and steps down by withdrawing
 * the offer, draining relayed calls, and turning ephemeral again.
 */
export class SuperNode {
  private readonly blindRelay: BlindRelayServer
  private readonly offerRegistration: Registration
  private readonly grants: number[] = []
  private stepping: Promise<void> | null = null
  refused = 0

  private constructor(
    private readonly opts: SuperNodeOptions,
    readonly turn: TurnService,
    private readonly secret: Buffer,
    private readonly load: () => SuperNodeLoad,
    /** The TURN server's address as peers reach it. */
    private readonly turnAddress: { host: string; port: number }
  ) {
    this.blindRelay = new BlindRelay.Server({ createStream: (o) => opts.dht.createRawStream({ ...o, framed: true }) })
    this.offerRegistration = new Registration(() => opts.dht, 'relay-offer' as Aor, opts.keyPair, opts.registration, opts.log, relayTopic())
  }

  static async start(opts: SuperNodeOptions, load: () => SuperNodeLoad): Promise<SuperNode> {
    if (!(await becomePersistent(opts.dht))) throw new Error('the DHT would not turn persistent (not reachable from outside)')
    const secret = newTurnSecret()
    let node: SuperNode | null = null
    const externalHost = publicHost(opts.dht, opts.turnHost)
    const turn = await TurnService.start({
      host: opts.turnHost,
      port: opts.turnPort,
      externalHost,
      secret,
      realm: 'parley',
      maxCallLegs: () => load().maxCalls,
      admit: () => node?.refusal()?.reason ?? null,
      log: opts.log
    })
    node = new SuperNode(opts, turn, secret, load, { host: externalHost, port: turn.address.port })
    await node.offerRegistration.refresh()
    opts.log.info({ turn: turn.address }, 'super-node services up')
    return node
  }

  get steppingDown(): boolean {
    return this.stepping !== null
  }

  /** Streams reaching this node may ask it to relay (blind-relay pairs them by token). */
  accept(stream: NoiseSecretStream): void {
    if (this.stepping) return
    this.blindRelay.accept(stream, { id: stream.remotePublicKey }).on('error', (err: Error) => this.opts.log.debug({ err: err.message }, 'blind relay session failed'))
  }

  get blindSessions(): number {
    return this.blindRelay.stats.pairings.active ?? 0
  }

  private reserved(now = Date.now()): number {
    while (this.grants.length && now - this.grants[0]! > GRANT_RESERVE_MS) this.grants.shift()
    return this.grants.length
  }

  /** Relayed call legs now plus grants not yet turned into allocations. */
  freeSlots(): number {
    return Math.max(0, this.load().maxCalls - this.turn.callLegs - this.reserved())
  }

  /** Why new work would be refused now, or null. */
  refusal(): RelayRefusal | null {
    if (this.stepping) return { code: 'STEPPING_DOWN', reason: 'this super-node is stepping down' }
    const load = this.load()
    if (load.af > load.demoteAt) return { code: 'AF_TOO_HIGH', reason: `af ${load.af} over ${load.demoteAt}` }
    if (this.turn.callLegs >= load.maxCalls) return { code: 'RELAY_FULL', reason: `${this.turn.callLegs} of ${load.maxCalls} relayed calls in progress` }
    return null
  }

  offer(): RelayOffer {
    const load = this.load()
    return {
      af: load.af,
      freeSlots: this.refusal() ? 0 : this.freeSlots(),
      capacity: load.maxCalls,
      uptimeS: load.uptimeS,
      turn: { ...this.turnAddress },
      blindRelay: !this.stepping
    }
  }

  /** TURN credentials for one call, only to a peer that asked over its encrypted stream. */
  credentials(remote: Buffer, callId: string): TurnGrant | RelayRefusal {
    const refusal = this.refusal() ?? (this.freeSlots() === 0 ? { code: 'RELAY_FULL' as const, reason: 'every relay slot is taken or promised' } : null)
    if (refusal) {
      this.refused++
      return refusal
    }
    this.grants.push(Date.now())
    const label = createHash('sha256').update(remote).update(callId).digest('hex').slice(0, 16)
    const minted = mintTurnCredentials(this.secret, label, this.opts.credentialTtlS ?? 2 * 3600)
    const { host, port } = this.turnAddress
    return { urls: [`turn:${host}:${port}?transport=udp`], username: minted.username, credential: minted.credential, expiresAt: minted.expiresAt }
  }

  /**
   * Step down: withdraw the offer, refuse new work, let relayed calls finish
   * (up to drainMs), then close the relays and turn ephemeral.
   */
  stepDown(): Promise<void> {
    this.stepping ??= (async () => {
      await this.offerRegistration.stop()
      const deadline = Date.now() + (this.opts.drainMs ?? 10 * 60_000)
      while (this.turn.allocations > 0 && Date.now() < deadline && !this.opts.dht.destroyed) await sleep(500)
      await this.turn.close()
      await this.blindRelay.close().catch(() => {})
      if (!this.opts.dht.destroyed) becomeEphemeral(this.opts.dht)
      this.opts.log.info('stepped down from super-node')
    })()
    return this.stepping
  }

  /** Shutdown of the whole peer: no draining. */
  async close(): Promise<void> {
    await this.offerRegistration.stop()
    await this.turn.close()
    await this.blindRelay.close().catch(() => {})
  }
}

/** The address others see us at: HyperDHT's NAT sampler, else the bound host. */
function publicHost(dht: HyperDHT, bound: string): string {
  const seen = dht.remoteAddress()?.host
  if (seen && seen !== '0.0.0.0') return seen
  return bound
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
