import { EventEmitter } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { SipMessage } from '../message.js'
import { DEFAULT_LIMITS, type FramerLimits } from '../stream-framer.js'
import type { SipSource, SipTransport, SipTransportEvents } from '../transport.js'
import { emitSafely } from './emit-safely.js'
import { DEFAULT_CONNECTION_LIMITS, FlowTable } from './flow-table.js'
import { SourceRateLimiter, type RateLimitOptions } from './rate-limiter.js'
import { addressKey, normalizeHost } from './source-address.js'
import { TcpFlow, type TcpFlowOptions } from './tcp-flow.js'
import { SipTransportError } from './transport-error.js'

export interface TcpTransportOptions {
  host: string
  /** 0 picks a free port; `local.port` tells which. */
  port: number
  log: Logger
  /** Per-connection framing limits, which also bound each connection's buffer. */
  limits?: FramerLimits
  /** A limiter shared with other transports, or options for one of its own. */
  rateLimit?: SourceRateLimiter | Partial<RateLimitOptions>
  /** Default 5 minutes. */
  idleTimeoutMs?: number
  /** Default 10 s. */
  connectTimeoutMs?: number
  /** Default 1024, both directions together. */
  maxConnections?: number
  /** Default 64 from one IPv4 address or IPv6 /64. */
  maxConnectionsPerSource?: number
  /** Default 1 MiB queued towards one connection before it is closed. */
  maxPendingWriteBytes?: number
}

export const TCP_DEFAULTS = {
  idleTimeoutMs: 5 * 60_000,
  connectTimeoutMs: 10_000,
  maxPendingWriteBytes: 1024 * 1024
}

/**
 * SIP over TCP (RFC 3261 §18): a listening server plus the connections it
 * opens. Each connection is a TcpFlow; its messages come out of the transport
 * as `message` with `source.flow` set, so responses can go back on it
 * (§18.2.2). `sendTo` reuses an open connection to the address, inbound or
 * outbound, and connects only when there is none (§18.1.1).
 */
export class TcpTransport extends EventEmitter<SipTransportEvents> implements SipTransport {
  readonly name = 'TCP'
  readonly reliable = true
  readonly local: { host: string; port: number }
  readonly rateLimiter: SourceRateLimiter
  readonly flows: FlowTable<TcpFlow>
  private readonly log: Logger
  private readonly limits: FramerLimits
  private readonly idleTimeoutMs: number
  private readonly connectTimeoutMs: number
  private readonly maxPendingWriteBytes: number
  private readonly dialing = new Map<string, Promise<TcpFlow>>()
  private readonly connecting = new Set<Socket>()
  private closing: Promise<void> | null = null

  static async listen(opts: TcpTransportOptions): Promise<TcpTransport> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return new TcpTransport(server, opts)
  }

  private constructor(
    private readonly server: Server,
    opts: TcpTransportOptions
  ) {
    super()
    this.log = opts.log.child({ transport: 'TCP' })
    this.limits = opts.limits ?? DEFAULT_LIMITS
    this.idleTimeoutMs = opts.idleTimeoutMs ?? TCP_DEFAULTS.idleTimeoutMs
    this.connectTimeoutMs = opts.connectTimeoutMs ?? TCP_DEFAULTS.connectTimeoutMs
    this.maxPendingWriteBytes = opts.maxPendingWriteBytes ?? TCP_DEFAULTS.maxPendingWriteBytes
    this.rateLimiter = opts.rateLimit instanceof SourceRateLimiter ? opts.rateLimit : new SourceRateLimiter(opts.rateLimit)
    this.flows = new FlowTable({
      maxConnections: opts.maxConnections ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
      maxConnectionsPerSource: opts.maxConnectionsPerSource ?? DEFAULT_CONNECTION_LIMITS.maxConnectionsPerSource
    })
    const address = server.address() as AddressInfo
    this.local = { host: address.address, port: address.port }
    server.on('connection', (socket) => this.accept(socket))
    server.on('error', (err) => this.log.error({ err }, 'TCP server error'))
  }

  async sendTo(message: SipMessage, host: string, port: number): Promise<void> {
    if (this.closing) throw SipTransportError.TRANSPORT_CLOSED(this.name)
    const flow = this.flows.find(host, port) ?? (await this.connectTo(host, port))
    if (!flow.send(message)) throw SipTransportError.FLOW_CLOSED(flow.id)
  }

  /** Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    for (const socket of this.connecting) socket.destroy()
    for (const flow of this.flows.all()) flow.close('transport closed')
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {}) // a reset before the flow exists must not crash the process
    const host = normalizeHost(socket.remoteAddress ?? '')
    const refusal = this.closing ? 'transport closed' : host === '' ? 'already gone' : this.flows.refusal(host)
    if (refusal !== null || !this.rateLimiter.allow(host)) {
      this.log.debug({ host, port: socket.remotePort, reason: refusal ?? 'rate limited' }, 'refusing TCP connection')
      socket.destroy()
      return
    }
    this.adopt(new TcpFlow(socket, this.log, this.flowOptions('inbound')))
  }

  private connectTo(host: string, port: number): Promise<TcpFlow> {
    const key = addressKey(host, port)
    let dialing = this.dialing.get(key)
    if (!dialing) {
      dialing = this.dial(host, port).finally(() => this.dialing.delete(key))
      this.dialing.set(key, dialing)
    }
    return dialing
  }

  private dial(host: string, port: number): Promise<TcpFlow> {
    if (this.flows.size + this.connecting.size >= this.flows.limits.maxConnections) {
      return Promise.reject(SipTransportError.CONNECTION_LIMIT(this.flows.limits.maxConnections))
    }
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      this.connecting.add(socket)
      const fail = (cause: string) => {
        done()
        socket.destroy()
        reject(SipTransportError.CONNECT_FAILED(host, port, cause))
      }
      const onError = (err: Error & { code?: string }) => fail(err.code ?? err.message)
      const onClose = () => fail('closed while connecting')
      const timer = setTimeout(() => fail(`no connection within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs)
      const done = () => {
        clearTimeout(timer)
        this.connecting.delete(socket)
        socket.off('error', onError)
        socket.off('close', onClose)
      }
      socket.on('error', onError)
      socket.on('close', onClose)
      socket.once('connect', () => {
        if (this.closing) return fail('transport closed')
        done()
        const flow = new TcpFlow(socket, this.log, this.flowOptions('outbound'))
        this.adopt(flow, [addressKey(host, port)])
        resolve(flow)
      })
    })
  }

  private flowOptions(direction: 'inbound' | 'outbound'): TcpFlowOptions {
    return {
      direction,
      limits: this.limits,
      idleTimeoutMs: this.idleTimeoutMs,
      maxPendingWriteBytes: this.maxPendingWriteBytes,
      onMalformed: (flow: TcpFlow, raw: Buffer, reason: string) => {
        this.log.warn({ flow: flow.id, reason }, 'bad SIP frame; closing that connection')
        emitSafely(this.log, 'malformed', () => this.emit('malformed', raw, this.sourceOf(flow), reason))
      }
    }
  }

  private adopt(flow: TcpFlow, aliases: string[] = []): void {
    this.flows.add(flow, aliases)
    flow.on('message', (message) => {
      if (!this.rateLimiter.allow(flow.remoteHost)) {
        this.log.debug({ flow: flow.id }, 'rate limited; message dropped')
        return
      }
      emitSafely(this.log, 'message', () => this.emit('message', message, this.sourceOf(flow)))
    })
  }

  private sourceOf(flow: TcpFlow): SipSource {
    return { transport: this.name, host: flow.remoteHost, port: flow.remotePort, flow }
  }
}
