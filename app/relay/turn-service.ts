import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { Logger } from 'pino'
import { createServer, wire, type Allocation, type RelayInfo, type Server, type Socket as TurnClient } from 'turn-server'
import { checkTurnUsername, turnPassword } from './turn-credentials.js'

export interface TurnServiceOptions {
  /** Address the TURN/STUN port and the relay ports bind to. */
  host: string
  /** 0 picks a free port. */
  port: number
  /** The address peers reach the relay ports on (a public or NAT-forwarded address); `host` by default. */
  externalHost?: string
  /** Shared secret of the REST credentials this service accepts (turn-credentials.ts). */
  secret: Buffer
  realm?: string
  /**
   * Capacity in call legs — distinct credentials, since a browser allocates once per
   * local interface for one leg. Asked at every Allocate: it follows the load, not a constant.
   */
  maxCallLegs: () => number
  /** A reason to refuse new allocations (e.g. 'af over threshold', 'stepping down'), or null. */
  admit?: () => string | null
  log: Logger
  now?: () => number
}

export interface TurnServiceStats {
  host: string
  port: number
  /** Active allocations. */
  allocations: number
  maxCallLegs: number
  /** Allocations granted since start. */
  allocationsTotal: number
  /** Relayed payload bytes, both directions. */
  bytesRelayed: number
  bytesToPeers: number
  bytesFromPeers: number
  /** Refused requests: credentials (401, 403) plus capacity (486). */
  refused: number
  refusedCredentials: number
  refusedCapacity: number
  /** The last reason an Allocate was refused for capacity. */
  lastRefusal: string | null
  /** Datagrams that were neither STUN nor ChannelData of a known client. */
  dropped: number
}

/** Every allocation's client-side media shares the one TURN port: give bursts room (Linux caps it at rmem_max). */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024
const STUN_HEADER_BYTES = 20
const MAGIC_COOKIE = 0x2112a442

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === 'localhost'
}

/**
 * Only RFC 5389 STUN messages (well-formed header, magic cookie, a length that
 * matches the datagram) open state in the TURN engine; ChannelData (RFC 8656
 * §12.4) is accepted only from clients that already have one. Anything else is
 * dropped here, so junk from the Internet cannot grow the client table.
 */
function looksLikeStun(msg: Buffer): boolean {
  return (
    msg.length >= STUN_HEADER_BYTES &&
    (msg[0] as number) < 0x40 &&
    msg.readUInt32BE(4) === MAGIC_COOKIE &&
    msg.readUInt16BE(2) % 4 === 0 &&
    STUN_HEADER_BYTES + msg.readUInt16BE(2) === msg.length
  )
}

/**
 * The media relay of a super-node: a TURN server (RFC 8656, UDP) for
 * renderers whose direct ICE paths fail, and a STUN server (RFC 5389 Binding)
 * for srflx candidates and for the RTT/loss probes of relay selection.
 *
 * Admission, per Allocate (RFC 8656 §7.2):
 *
 *   no/invalid/expired REST credential ──► 401 (counted in `refused`)
 *   expired one still held by a live    ──► 403
 *     allocation (see 'authenticate')
 *   call legs ≥ maxCallLegs()           ──► 486 Allocation Quota Reached
 *     (another allocation under a credential in use is the same leg: granted)
 *   admit() returns a reason            ──► 486
 *   otherwise                           ──► relayed address on externalHost ?? host
 *
 * Refusing is only ever about *new* allocations: existing ones keep their
 * Refresh, permissions and channels whatever the load (never degrade a call in
 * progress), and so do their credentials after they expire.
 */
export class TurnService {
  readonly address: { host: string; port: number }

  private relayed = 0
  private refusedTotal = 0
  private bytesToPeers = 0
  private bytesFromPeers = 0
  private allocationsTotal = 0
  private refusedCredentials = 0
  private refusedCapacity = 0
  private lastRefusal: string | null = null
  private dropped = 0
  /** One entry per live allocation; usernames may repeat across them. */
  private readonly live = new Map<Allocation, string>()
  private closing: Promise<void> | null = null

  private constructor(
    private readonly opts: TurnServiceOptions,
    private readonly server: Server,
    private readonly udp: UdpSocket,
    private readonly log: Logger
  ) {
    const a = udp.address()
    this.address = { host: a.address, port: a.port }
    this.attach()
  }

  static async start(opts: TurnServiceOptions): Promise<TurnService> {
    const log = opts.log.child({ component: 'turn' })
    const udp = createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4', reuseAddr: false })
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind({ address: opts.host, port: opts.port, exclusive: true }, () => {
        udp.off('error', reject)
        resolve()
      })
    })
    try {
      udp.setRecvBufferSize(RECV_BUFFER_BYTES)
    } catch (err) {
      log.debug({ err }, 'TURN socket keeps the default receive buffer')
    }
    const relayIp = opts.externalHost ?? opts.host
    const server = createServer({
      software: 'Parley',
      // External-socket mode: we own the port (port 0 works, we filter junk
      // before it reaches the engine, we close it).
      ...(isIPv6(opts.host) ? { socket6: udp } : { socket: udp }),
      auth: { mechanism: 'long-term', realm: opts.realm ?? 'parley' },
      relay: { ip: opts.host, externalIp: relayIp },
      // Peers on the TURN server's own loopback stay unreachable (CVE-2020-26262)
      // unless the relay itself only lives on loopback (one machine, tests).
      allowLoopback: isLoopback(relayIp)
    })
    const service = new TurnService(opts, server, udp, log)
    log.info({ address: service.address, relay: relayIp }, 'TURN service listening')
    return service
  }

  /** Active allocations. */
  get allocations(): number {
    return this.live.size
  }

  /** Call legs relayed now: distinct credentials among live allocations (one per call and peer). */
  get callLegs(): number {
    return new Set(this.live.values()).size
  }

  /** Relayed payload bytes, both directions, since start. */
  get bytesRelayed(): number {
    return this.relayed
  }

  /** Requests refused for credentials or capacity, since start. */
  get refused(): number {
    return this.refusedTotal
  }

  stats(): TurnServiceStats {
    return {
      ...this.address,
      allocations: this.allocations,
      maxCallLegs: this.capacity(),
      allocationsTotal: this.allocationsTotal,
      bytesRelayed: this.bytesRelayed,
      bytesToPeers: this.bytesToPeers,
      bytesFromPeers: this.bytesFromPeers,
      refused: this.refused,
      refusedCredentials: this.refusedCredentials,
      refusedCapacity: this.refusedCapacity,
      lastRefusal: this.lastRefusal,
      dropped: this.dropped
    }
  }

  /** Stops answering, releases every allocation and its relay port, closes the TURN port. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.stop(() => {
        this.udp.close(() => resolve())
      })
    }).then(() => this.log.info(this.stats(), 'TURN service closed'))
    return this.closing
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }

  private capacity(): number {
    try {
      const n = this.opts.maxCallLegs()
      return Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0
    } catch {
      return 0
    }
  }

  /** Why a new allocation must be refused now, or null to grant it. */
  private refusal(username: string | null = null): string | null {
    // A browser allocates once per local interface for one call leg: more allocations
    // under a credential already in use are the same leg, not new work.
    if (username && this.isLiveUsername(username)) return null
    const max = this.capacity()
    const legs = this.callLegs
    if (legs >= max) return `at capacity (${legs}/${max})`
    try {
      return this.opts.admit?.() ?? null
    } catch (err) {
      return `admission check failed: ${(err as Error).message}`
    }
  }

  private isLiveUsername(username: string): boolean {
    for (const u of this.live.values()) if (u === username) return true
    return false
  }

  private attach(): void {
    const { server, udp } = this

    udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      if (this.closing) return
      if (looksLikeStun(msg)) {
        if (!server.hasClient(rinfo) && this.answerBinding(msg, rinfo)) return
        server.handlePacket(msg, rinfo)
      } else if (wire.is_channel_data(msg) && server.hasClient(rinfo)) server.handlePacket(msg, rinfo)
      else this.dropped++
    })
    // Relay-port and malformed-message errors: one client's problem, never the service's.
    udp.on('error', (err) => this.log.warn({ err }, 'TURN socket error'))
    server.on('error', (err: Error) => this.log.debug({ err: err.message }, 'TURN engine error'))

    // Long-term credentials (RFC 8489 §9.2) whose password is the REST HMAC of
    // the username. A username past its expiry still authenticates the
    // allocation it already holds (Refresh, CreatePermission, ChannelBind),
    // so a long call outlives its credential; new allocations need a fresh one.
    server.on('authenticate', (username: string, _realm: string | null, cb: (key: string | null) => void) => {
      const fresh = checkTurnUsername(username, this.now())
      cb(fresh || this.isLiveUsername(username) ? turnPassword(this.opts.secret, username) : null)
    })
    server.on('authorize', (info: { method: number; username: string | null }, cb: (ok: boolean) => void) => {
      if (info.method === wire.METHOD.ALLOCATE && !checkTurnUsername(info.username ?? '', this.now())) {
        this.refuseCredentials(info.username, 'expired credential on a new allocation')
        cb(false) // 403
        return
      }
      cb(true)
    })
    server.on('auth:failure', (_client: TurnClient, info: { username: string | null; code: number; reason: string }) => {
      this.refuseCredentials(info.username, info.reason)
    })

    // RFC 8656 §7.2 step 7: at capacity → 486. The engine asks this hook
    // synchronously before it allocates, for Allocate requests only.
    server.on('quota', (username: string | null, cb: (ok: boolean) => void) => {
      const reason = this.refusal(username)
      if (reason !== null) {
        this.refusedTotal++
        this.refusedCapacity++
        this.lastRefusal = reason
        this.log.info({ reason, allocations: this.live.size }, 'TURN allocation refused (486)')
      }
      cb(reason === null)
    })

    // Count allocations at the session, where they exist from the moment they
    // are granted (the relay port is bound just after), so two Allocates in
    // the same tick cannot both slip under the capacity.
    server.on('connection', (client: TurnClient) => {
      const session = client.getSession()
      session.on('allocate', (alloc: Allocation) => {
        this.live.set(alloc, alloc.username ?? '')
        this.allocationsTotal++
        this.log.debug({ username: alloc.username, allocations: this.live.size }, 'TURN allocation granted')
      })
      session.on('allocate:expired', (alloc: Allocation) => {
        this.live.delete(alloc)
      })
    })

    server.on('onRelayed', (_client: TurnClient, info: RelayInfo) => {
      const n = info.size || 0
      this.relayed += n
      if (info.direction === 'outbound') this.bytesToPeers += n
      else this.bytesFromPeers += n
    })
  }

  /**
   * Attribute-less Binding requests (probeStun's) from addresses that hold no
   * TURN state are answered here, statelessly (RFC 8489 §3: a Binding needs
   * no state): relay-selection probes come from ever new ports, and each
   * would otherwise keep a client session until the idle timeout.
   */
  private answerBinding(msg: Buffer, rinfo: RemoteInfo): boolean {
    if (msg.length !== STUN_HEADER_BYTES || msg.readUInt16BE(0) !== wire.METHOD.BINDING) return false
    const reply = wire.encode_message({
      method: wire.METHOD.BINDING,
      cls: wire.CLASS.SUCCESS,
      transactionId: msg.subarray(8, STUN_HEADER_BYTES),
      attributes: [{ type: wire.ATTR.XOR_MAPPED_ADDRESS as number, value: { ip: rinfo.address, port: rinfo.port } }],
      fingerprint: false
    })
    this.udp.send(reply.buf, rinfo.port, rinfo.address, () => {})
    return true
  }

  private refuseCredentials(username: string | null, reason: string): void {
    this.refusedTotal++
    this.refusedCredentials++
    this.log.debug({ username, reason }, 'TURN request refused (credentials)')
  }
}
