import { EventEmitter } from 'node:events'
import Protomux from 'protomux'
import type { ProtomuxChannel, ProtomuxMessage } from 'protomux'
import c from 'compact-encoding'
import type { NoiseSecretStream } from 'hyperdht'
import type { Logger } from 'pino'
import type { SipMessage } from '../sip/message.js'
import { SipStreamFramer, DEFAULT_LIMITS, type FramerLimits } from '../sip/stream-framer.js'
import type { SipFlow, SipFlowEvents } from '../sip/transport.js'

export const SIP_PROTOCOL = 'parley/sip/v1'
let nextId = 0

/**
 * SIP over an encrypted HyperDHT stream: one Protomux channel whose messages are
 * chunks of a byte stream, cut into SIP messages by Content-Length as on TCP
 * (RFC 3261 §18.3). A frame that cannot be parsed or is too large closes this
 * stream only; the node goes on serving everyone else.
 */
export class PeerSipFlow extends EventEmitter<SipFlowEvents> implements SipFlow {
  readonly id: string
  readonly transport = 'PARLEY'
  readonly remotePublicKey: Buffer
  readonly opened: Promise<boolean>
  closeReason: string | null = null
  private readonly channel: ProtomuxChannel
  private readonly bytes: ProtomuxMessage<Buffer>
  private readonly framer: SipStreamFramer
  private isOpen = false

  constructor(
    readonly stream: NoiseSecretStream,
    private readonly log: Logger,
    limits: FramerLimits = DEFAULT_LIMITS
  ) {
    super()
    this.remotePublicKey = stream.remotePublicKey
    this.id = `peer-${++nextId}-${this.remotePublicKey.toString('hex').slice(0, 8)}`
    this.framer = new SipStreamFramer(limits)
    this.framer.on('message', (m) => this.emit('message', m))
    this.framer.on('error', (err) => this.close(`bad SIP frame: ${err.message}`))

    const mux = Protomux.from(stream)
    let resolveOpened!: (v: boolean) => void
    this.opened = new Promise((resolve) => (resolveOpened = resolve))
    const channel = mux.createChannel({
      protocol: SIP_PROTOCOL,
      onopen: () => {
        this.isOpen = true
        resolveOpened(true)
      },
      onclose: () => {
        resolveOpened(false)
        this.finish('channel closed by peer')
      }
    })
    if (!channel) throw new Error('SIP channel already open on this stream')
    this.channel = channel
    this.bytes = channel.addMessage<Buffer>({ encoding: c.buffer, onmessage: (chunk) => this.framer.push(chunk) })
    channel.open()
    stream.on('error', (err: Error) => this.finish(`stream error: ${err.message}`))
    stream.on('close', () => {
      resolveOpened(false)
      this.finish('stream closed')
    })
  }

  get open(): boolean {
    return this.isOpen && this.closeReason === null
  }

  send(message: SipMessage): boolean {
    if (!this.open) return false
    this.bytes.send(message.serialize())
    return true
  }

  close(reason: string): void {
    if (this.closeReason !== null) return
    this.log.warn({ flow: this.id, reason }, 'closing peer stream')
    this.finish(reason)
    this.stream.destroy()
  }

  private finish(reason: string): void {
    if (this.closeReason !== null) return
    this.closeReason = reason
    this.isOpen = false
    this.emit('close', reason)
  }
}
