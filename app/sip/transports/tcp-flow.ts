import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import type { SipMessage } from '../message.js'
import { SipStreamFramer, type FramerLimits } from '../stream-framer.js'
import type { SipFlow, SipFlowEvents } from '../transport.js'
import { emitSafely } from './emit-safely.js'
import { addressKey, normalizeHost } from './source-address.js'

export interface TcpFlowOptions {
  limits: FramerLimits
  /** Close after this long without a byte in either direction. */
  idleTimeoutMs: number
  /** Close rather than queue more when the other end has not read this much. */
  maxPendingWriteBytes: number
  direction: 'inbound' | 'outbound'
  /** Told about bytes the framer rejected (the chunk in which the error showed); the flow closes right after. */
  onMalformed?: (flow: TcpFlow, raw: Buffer, reason: string) => void
}

let nextId = 0

/**
 * SIP over one TCP connection (RFC 3261 §18.3): the byte stream is cut into
 * messages by Content-Length. A frame that cannot be parsed or is too large
 * closes this connection only, since the stream can no longer be trusted to be
 * in sync; the transport goes on serving every other connection.
 */
export class TcpFlow extends EventEmitter<SipFlowEvents> implements SipFlow {
  readonly id: string
  readonly transport = 'TCP'
  readonly remotePublicKey = null
  readonly remoteHost: string
  readonly remotePort: number
  readonly direction: 'inbound' | 'outbound'
  closeReason: string | null = null
  private readonly framer: SipStreamFramer
  private lastChunk: Buffer = Buffer.alloc(0)

  constructor(
    readonly socket: Socket,
    private readonly log: Logger,
    private readonly opts: TcpFlowOptions
  ) {
    super()
    this.remoteHost = normalizeHost(socket.remoteAddress ?? '')
    this.remotePort = socket.remotePort ?? 0
    this.direction = opts.direction
    this.id = `tcp-${++nextId}-${addressKey(this.remoteHost, this.remotePort)}`
    this.framer = new SipStreamFramer(opts.limits)
    this.framer.on('message', (m) => emitSafely(log, 'message', () => this.emit('message', m)))
    this.framer.on('error', (err) => {
      opts.onMalformed?.(this, this.lastChunk, err.message)
      this.close(`bad SIP frame: ${err.message}`)
    })
    socket.on('data', (chunk: Buffer) => {
      this.lastChunk = chunk
      this.framer.push(chunk)
    })
    socket.setNoDelay(true)
    socket.setTimeout(opts.idleTimeoutMs, () => this.close(`idle for ${opts.idleTimeoutMs} ms`))
    socket.on('error', (err: Error) => this.finish(`socket error: ${err.message}`))
    socket.on('close', () => this.finish('connection closed'))
  }

  get open(): boolean {
    return this.closeReason === null && !this.socket.destroyed
  }

  send(message: SipMessage): boolean {
    if (!this.open) return false
    if (this.socket.writableLength > this.opts.maxPendingWriteBytes) {
      this.close(`other end is not reading (${this.socket.writableLength} bytes queued)`)
      return false
    }
    this.socket.write(message.serialize())
    return true
  }

  close(reason: string): void {
    if (this.closeReason !== null) return
    this.log.debug({ flow: this.id, reason }, 'closing TCP connection')
    this.finish(reason)
    this.socket.destroy()
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    this.lastChunk = Buffer.alloc(0)
    this.emit('close', reason)
  }
}
