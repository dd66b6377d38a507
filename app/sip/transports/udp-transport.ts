import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { EventEmitter } from 'node:events'
import { isIPv6 } from 'node:net'
import type { Logger } from 'pino'
import type { SipMessage } from '../message.js'
import { parseSipMessage } from '../parser.js'
import type { SipSource, SipTransport, SipTransportEvents } from '../transport.js'
import { emitSafely } from './emit-safely.js'
import { isCrlfKeepAlive } from './keep-alive.js'
import { SourceRateLimiter, type RateLimitOptions } from './rate-limiter.js'
import { normalizeHost } from './source-address.js'
import { SipTransportError } from './transport-error.js'

/**
 * Messages larger than this should go over a congestion-controlled transport
 * when the path MTU is unknown (RFC 3261 §18.1.1); the core decides, using
 * `mtuExceeded`.
 */
export const UDP_MTU_LIMIT = 1300

/** The largest UDP payload there can be (65,535 less the IPv4 and UDP headers). */
export const UDP_MAX_PAYLOAD = 65_507

export function mtuExceeded(message: SipMessage): boolean {
  return message.serialize().length > UDP_MTU_LIMIT
}

export interface UdpTransportOptions {
  host: string
  /** 0 picks a free port; `local.port` tells which. */
  port: number
  log: Logger
  /** Datagrams longer than this are dropped unread; default UDP_MAX_PAYLOAD. */
  maxDatagramBytes?: number
  /** A limiter shared with other transports, or options for one of its own. */
  rateLimit?: SourceRateLimiter | Partial<RateLimitOptions>
}

export interface UdpStats {
  /** Datagrams dropped for exceeding maxDatagramBytes. */
  oversized: number
  /** CRLF keep-alives ignored (RFC 5626 §4.4.1). */
  keepAlives: number
}

/**
 * SIP over UDP (RFC 3261 §18): each datagram carries exactly one message
 * (§18.3), so a bad datagram costs nothing beyond itself and is reported as
 * `malformed`. There are no flows: responses go to the address in Via
 * (§18.2.2), which the core resolves and passes to `sendTo`.
 */
export class UdpTransport extends EventEmitter<SipTransportEvents> implements SipTransport {
  readonly name = 'UDP'
  readonly reliable = false
  readonly local: { host: string; port: number }
  readonly rateLimiter: SourceRateLimiter
  private readonly log: Logger
  private readonly maxDatagramBytes: number
  private readonly counts: UdpStats = { oversized: 0, keepAlives: 0 }
  private closing: Promise<void> | null = null

  static async listen(opts: UdpTransportOptions): Promise<UdpTransport> {
    const socket = createSocket(isIPv6(opts.host) ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    growBuffers(socket)
    return new UdpTransport(socket, opts)
  }

  private constructor(
    private readonly socket: Socket,
    opts: UdpTransportOptions
  ) {
    super()
    this.log = opts.log.child({ transport: 'UDP' })
    this.maxDatagramBytes = opts.maxDatagramBytes ?? UDP_MAX_PAYLOAD
    this.rateLimiter = opts.rateLimit instanceof SourceRateLimiter ? opts.rateLimit : new SourceRateLimiter(opts.rateLimit)
    const address = socket.address()
    this.local = { host: address.address, port: address.port }
    socket.on('message', (data, rinfo) => this.receive(data, rinfo))
    // ICMP errors and the like: log, never crash (there is no one to hand them to).
    socket.on('error', (err) => this.log.warn({ err }, 'UDP socket error'))
  }

  stats(): UdpStats {
    return { ...this.counts }
  }

  async sendTo(message: SipMessage, host: string, port: number): Promise<void> {
    if (this.closing) throw SipTransportError.TRANSPORT_CLOSED(this.name)
    const bytes = message.serialize()
    if (bytes.length > UDP_MTU_LIMIT) {
      this.log.debug({ bytes: bytes.length, limit: UDP_MTU_LIMIT }, 'sending over UDP a message larger than the MTU limit (RFC 3261 §18.1.1)')
    }
    await new Promise<void>((resolve, reject) => {
      this.socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve()))
    })
  }

  /** Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => this.socket.close(() => resolve()))
    return this.closing
  }

  private receive(data: Buffer, rinfo: RemoteInfo): void {
    if (data.length > this.maxDatagramBytes) {
      this.counts.oversized++
      this.log.debug({ host: rinfo.address, port: rinfo.port, bytes: data.length }, 'oversized datagram dropped')
      return
    }
    if (isCrlfKeepAlive(data)) {
      this.counts.keepAlives++
      return
    }
    const source: SipSource = { transport: this.name, host: normalizeHost(rinfo.address), port: rinfo.port, flow: null }
    if (!this.rateLimiter.allow(source.host)) return
    let message: SipMessage
    try {
      message = parseSipMessage(data)
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      this.log.debug({ host: source.host, port: source.port, reason }, 'malformed datagram')
      emitSafely(this.log, 'malformed', () => this.emit('malformed', data, source, reason))
      return
    }
    emitSafely(this.log, 'message', () => this.emit('message', message, source))
  }
}

/** Socket buffers asked for; the kernel caps them at net.core.rmem_max / wmem_max. */
export const UDP_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * A registrar takes bursts (phones re-registering together, a load generator):
 * with the default ~200 KiB receive buffer, datagrams are dropped by the kernel
 * whenever the event loop pauses (a GC, a DHT burst). Ask for more, as
 * Kamailio does at start-up; the kernel grants up to its maximum.
 */
function growBuffers(socket: Socket): void {
  for (const set of [(n: number) => socket.setRecvBufferSize(n), (n: number) => socket.setSendBufferSize(n)]) {
    try {
      set(UDP_BUFFER_BYTES)
    } catch {
      // Not permitted or not supported here: keep the default.
    }
  }
}
