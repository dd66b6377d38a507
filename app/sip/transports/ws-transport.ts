import { EventEmitter } from 'node:events'
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import type { SipMessage } from '../message.js'
import { DEFAULT_LIMITS } from '../stream-framer.js'
import type { SipSource, SipTransport, SipTransportEvents } from '../transport.js'
import { emitSafely } from './emit-safely.js'
import { DEFAULT_CONNECTION_LIMITS, FlowTable } from './flow-table.js'
import { SourceRateLimiter, type RateLimitOptions } from './rate-limiter.js'
import { normalizeHost } from './source-address.js'
import { SipTransportError } from './transport-error.js'
import { WsFlow } from './ws-flow.js'

/** The WebSocket subprotocol for SIP (RFC 7118 §4). */
export const SIP_SUBPROTOCOL = 'sip'

export interface WsClientInfo {
  /** The Origin header: browsers always send it, other clients may not. */
  origin: string | undefined
  req: IncomingMessage
}

export interface WsTransportOptions {
  host: string
  /** 0 picks a free port; `local.port` tells which. */
  port: number
  log: Logger
  /** Admits or refuses (403) a handshake that offered `sip`, e.g. by Origin or a token in the URL. Default: admit all. */
  verifyClient?: (info: WsClientInfo) => boolean | Promise<boolean>
  /** Largest WebSocket message; beyond it ws closes the connection with 1009. Default: the stream limits, 16 KiB + 256 KiB. */
  maxPayload?: number
  /** A limiter shared with other transports, or options for one of its own. */
  rateLimit?: SourceRateLimiter | Partial<RateLimitOptions>
  /** Default 5 minutes. */
  idleTimeoutMs?: number
  /** Time allowed for the HTTP request headers of the handshake; default 10 s. */
  handshakeTimeoutMs?: number
  /** Default 1024. */
  maxConnections?: number
  /** Default 64 from one IPv4 address or IPv6 /64. */
  maxConnectionsPerSource?: number
  /** Default 1 MiB queued towards one connection before it is closed. */
  maxPendingWriteBytes?: number
}

export const WS_DEFAULTS = {
  maxPayload: DEFAULT_LIMITS.maxHeadBytes + DEFAULT_LIMITS.maxBodyBytes,
  idleTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 10_000,
  maxPendingWriteBytes: 1024 * 1024
}

/**
 * SIP over WebSocket (RFC 7118), server side only: browsers and other clients
 * connect, each connection is a WsFlow, its messages come out of the transport
 * as `message` with `source.flow` set. A server cannot dial a WebSocket
 * client, so `sendTo` reaches only an address that is connected already.
 *
 * Handshake checks, in order: transport open, connection limits (503), rate
 * (429), the `sip` subprotocol offered (400), `verifyClient` (403).
 */
export class WsTransport extends EventEmitter<SipTransportEvents> implements SipTransport {
  readonly name = 'WS'
  readonly reliable = true
  readonly local: { host: string; port: number }
  readonly rateLimiter: SourceRateLimiter
  readonly flows: FlowTable<WsFlow>
  private readonly log: Logger
  private readonly wss: WebSocketServer
  private handshakes = 0
  private closing: Promise<void> | null = null

  static async listen(opts: WsTransportOptions): Promise<WsTransport> {
    const server = createServer({ headersTimeout: opts.handshakeTimeoutMs ?? WS_DEFAULTS.handshakeTimeoutMs })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return new WsTransport(server, opts)
  }

  private constructor(
    private readonly server: Server,
    private readonly opts: WsTransportOptions
  ) {
    super()
    this.log = opts.log.child({ transport: 'WS' })
    this.rateLimiter = opts.rateLimit instanceof SourceRateLimiter ? opts.rateLimit : new SourceRateLimiter(opts.rateLimit)
    this.flows = new FlowTable({
      maxConnections: opts.maxConnections ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
      maxConnectionsPerSource: opts.maxConnectionsPerSource ?? DEFAULT_CONNECTION_LIMITS.maxConnectionsPerSource
    })
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayload ?? WS_DEFAULTS.maxPayload,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false)
    })
    const address = server.address() as AddressInfo
    this.local = { host: address.address, port: address.port }
    server.on('request', (_req, res) => {
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket', 'Sec-WebSocket-Protocol': SIP_SUBPROTOCOL }).end()
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch((err: unknown) => {
        this.log.error({ err }, 'WebSocket handshake failed')
        socket.destroy()
      })
    })
    server.on('clientError', (_err, socket: Duplex) => socket.destroy())
    server.on('error', (err) => this.log.error({ err }, 'WebSocket server error'))
    this.wss.on('error', (err) => this.log.error({ err }, 'WebSocket server error'))
  }

  /** Only an open connection from host:port can be reached; there is no dialling out. */
  async sendTo(message: SipMessage, host: string, port: number): Promise<void> {
    if (this.closing) throw SipTransportError.TRANSPORT_CLOSED(this.name)
    const flow = this.flows.find(host, port)
    if (!flow) throw SipTransportError.NO_FLOW(this.name, host, port)
    if (!flow.send(message)) throw SipTransportError.FLOW_CLOSED(flow.id)
  }

  /** Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    for (const flow of this.flows.all()) flow.terminate('transport closed')
    for (const ws of this.wss.clients) ws.terminate()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {}) // a reset during the handshake must not crash the process
    const host = normalizeHost(req.socket.remoteAddress ?? '')
    const port = req.socket.remotePort ?? 0
    const refuse = (status: number, reason: string) => {
      this.log.debug({ host, port, status, reason }, 'refusing WebSocket handshake')
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      socket.once('finish', () => socket.destroy())
    }
    if (this.closing) return refuse(503, 'transport closed')
    const full = this.flows.refusal(host, this.handshakes)
    if (full !== null) return refuse(503, full)
    if (!this.rateLimiter.allow(host)) return refuse(429, 'rate limited')
    if (!offersSip(req.headers['sec-websocket-protocol'])) return refuse(400, 'the sip subprotocol was not offered (RFC 7118 §4)')
    this.handshakes++
    let verified = true
    try {
      if (this.opts.verifyClient) verified = await this.opts.verifyClient({ origin: req.headers.origin, req })
    } catch (err) {
      this.log.warn({ err }, 'verifyClient threw; refusing')
      verified = false
    } finally {
      this.handshakes--
    }
    if (this.closing) return refuse(503, 'transport closed')
    if (!verified) return refuse(403, 'verifyClient refused')
    // Synchronous without ws's own verifyClient: the callback runs now or never.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(ws, host, port))
  }

  private adopt(ws: WebSocket, host: string, port: number): void {
    const flow = new WsFlow(ws, host, port, this.log, {
      idleTimeoutMs: this.opts.idleTimeoutMs ?? WS_DEFAULTS.idleTimeoutMs,
      maxPendingWriteBytes: this.opts.maxPendingWriteBytes ?? WS_DEFAULTS.maxPendingWriteBytes,
      onMalformed: (f, raw, reason) => {
        if (!this.rateLimiter.allow(host)) return
        this.log.debug({ flow: f.id, reason }, 'malformed WebSocket message')
        emitSafely(this.log, 'malformed', () => this.emit('malformed', raw, this.sourceOf(f), reason))
      }
    })
    this.flows.add(flow)
    flow.on('message', (message) => {
      if (!this.rateLimiter.allow(host)) {
        this.log.debug({ flow: flow.id }, 'rate limited; message dropped')
        return
      }
      emitSafely(this.log, 'message', () => this.emit('message', message, this.sourceOf(flow)))
    })
  }

  private sourceOf(flow: WsFlow): SipSource {
    return { transport: this.name, host: flow.remoteHost, port: flow.remotePort, flow }
  }
}

/** Sec-WebSocket-Protocol is a comma-separated list of tokens (RFC 6455 §11.3.4). */
export function offersSip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((p) => p.trim() === SIP_SUBPROTOCOL)
}
