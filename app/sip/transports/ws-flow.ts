import { isUtf8 } from 'node:buffer'
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { RawData, WebSocket } from 'ws'
import type { SipMessage } from '../message.js'
import { parseSipMessage } from '../parser.js'
import type { SipFlow, SipFlowEvents } from '../transport.js'
import { emitSafely } from './emit-safely.js'
import { isCrlfKeepAlive } from './keep-alive.js'
import { addressKey } from './source-address.js'

export interface WsFlowOptions {
  /** Close after this long without a message in either direction. */
  idleTimeoutMs: number
  /** Close rather than queue more when the other end has not read this much. */
  maxPendingWriteBytes: number
  /** Told about a WebSocket message that is not one SIP message; the flow stays open. */
  onMalformed?: (flow: WsFlow, raw: Buffer, reason: string) => void
}

let nextId = 0

/**
 * SIP over one WebSocket connection (RFC 7118): every WebSocket message,
 * text or binary, is exactly one SIP message, so no stream framing is needed
 * and Content-Length may be absent. Because WebSocket keeps message boundaries,
 * a bad message does not desynchronise the connection: it is reported and the
 * connection stays open. ws enforces maxPayload and closes with 1009 beyond it.
 */
export class WsFlow extends EventEmitter<SipFlowEvents> implements SipFlow {
  readonly id: string
  readonly transport = 'WS'
  readonly remotePublicKey = null
  closeReason: string | null = null
  private readonly idle: NodeJS.Timeout

  constructor(
    readonly socket: WebSocket,
    readonly remoteHost: string,
    readonly remotePort: number,
    private readonly log: Logger,
    private readonly opts: WsFlowOptions
  ) {
    super()
    this.id = `ws-${++nextId}-${addressKey(remoteHost, remotePort)}`
    this.idle = setTimeout(() => this.close(`idle for ${opts.idleTimeoutMs} ms`), opts.idleTimeoutMs)
    socket.on('message', (data) => this.receive(toBuffer(data)))
    socket.on('error', (err) => this.finish(`socket error: ${err.message}`))
    socket.on('close', (code) => this.finish(`connection closed (${code})`))
  }

  get open(): boolean {
    return this.closeReason === null && this.socket.readyState === this.socket.OPEN
  }

  send(message: SipMessage): boolean {
    if (!this.open) return false
    if (this.socket.bufferedAmount > this.opts.maxPendingWriteBytes) {
      this.close(`other end is not reading (${this.socket.bufferedAmount} bytes queued)`)
      return false
    }
    const bytes = message.serialize()
    // Text frames when possible: browser stacks (JsSIP, SIP.js) expect them; a text frame must be UTF-8 (RFC 6455 §5.6).
    this.socket.send(bytes, { binary: !isUtf8(bytes) })
    this.idle.refresh()
    return true
  }

  close(reason: string): void {
    if (this.closeReason !== null) return
    this.log.debug({ flow: this.id, reason }, 'closing WebSocket connection')
    this.finish(reason)
    this.socket.close(1000)
  }

  /** Closes at once, without the closing handshake (used when the transport shuts down). */
  terminate(reason: string): void {
    this.finish(reason)
    this.socket.terminate()
  }

  private receive(data: Buffer): void {
    if (this.closeReason !== null) return
    this.idle.refresh()
    if (isCrlfKeepAlive(data)) return
    let message: SipMessage
    try {
      message = parseSipMessage(data)
    } catch (err) {
      this.opts.onMalformed?.(this, data, err instanceof Error ? err.message : String(err))
      return
    }
    emitSafely(this.log, 'message', () => this.emit('message', message))
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    clearTimeout(this.idle)
    this.emit('close', reason)
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}
