import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { SipMessage } from '../app/sip/message.js'
import { parseSipMessage } from '../app/sip/parser.js'
import type { SipFlow, SipFlowEvents } from '../app/sip/transport.js'
import { emitSafely } from '../app/sip/transports/emit-safely.js'
import { isCrlfKeepAlive } from '../app/sip/transports/keep-alive.js'
import { MAX_SIP_PORT_MESSAGE } from './bridge-channels.js'
import type { MessagePortMainLike } from './message-port.js'

export interface PortFlowOptions {
  /** Larger messages are reported and dropped. */
  maxMessageBytes?: number
  /** Told about a port message that is not one SIP message; the flow stays open. */
  onMalformed?: (flow: PortFlow, raw: unknown, reason: string) => void
}

let nextId = 0

/**
 * SIP between the desktop renderer's JsSIP and its own peer over a
 * MessagePort, with no network port. It keeps RFC 7118's framing: one port
 * message is one SIP message, as text, so nothing can desynchronise the flow —
 * a bad message is reported and dropped and the flow stays open. The Via token
 * is WS because JsSIP speaks it and the SIP layer treats both alike.
 */
export class PortFlow extends EventEmitter<SipFlowEvents> implements SipFlow {
  readonly id = `port-${++nextId}`
  readonly transport = 'WS'
  readonly remotePublicKey = null
  closeReason: string | null = null
  private readonly maxBytes: number

  constructor(
    private readonly port: MessagePortMainLike,
    private readonly log: Logger,
    private readonly opts: PortFlowOptions = {}
  ) {
    super()
    this.maxBytes = opts.maxMessageBytes ?? MAX_SIP_PORT_MESSAGE
    port.on('message', (e) => this.receive(e.data))
    port.on('close', () => this.finish('the page closed its SIP port'))
    port.start()
  }

  get open(): boolean {
    return this.closeReason === null
  }

  send(message: SipMessage): boolean {
    if (!this.open) return false
    // Text, as JsSIP expects; SIP bodies we carry (SDP, PIDF, text/plain) are UTF-8.
    this.port.postMessage(message.serialize().toString('utf8'))
    return true
  }

  close(reason: string): void {
    if (this.closeReason !== null) return
    this.log.debug({ flow: this.id, reason }, 'closing SIP port')
    this.finish(reason)
    this.port.close()
  }

  private receive(data: unknown): void {
    if (this.closeReason !== null) return
    if (typeof data !== 'string') return this.malformed(data, `expected one SIP message as text, got ${describe(data)}`)
    if (data.length > this.maxBytes) return this.malformed(data, `message of ${data.length} characters exceeds ${this.maxBytes}`)
    const bytes = Buffer.from(data, 'utf8')
    if (bytes.length > this.maxBytes) return this.malformed(data, `message of ${bytes.length} bytes exceeds ${this.maxBytes}`)
    if (isCrlfKeepAlive(bytes)) return
    let message: SipMessage
    try {
      message = parseSipMessage(bytes)
    } catch (err) {
      return this.malformed(data, err instanceof Error ? err.message : String(err))
    }
    emitSafely(this.log, 'message', () => this.emit('message', message))
  }

  private malformed(raw: unknown, reason: string): void {
    this.log.warn({ flow: this.id, reason }, 'dropped a malformed SIP message from the page')
    try {
      this.opts.onMalformed?.(this, raw, reason)
    } catch (err) {
      this.log.error({ err }, 'onMalformed threw')
    }
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    this.emit('close', reason)
  }
}

function describe(data: unknown): string {
  if (data === null) return 'null'
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return 'binary data'
  return typeof data
}
