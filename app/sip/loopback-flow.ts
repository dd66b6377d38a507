import { EventEmitter } from 'node:events'
import type { SipMessage } from './message.js'
import type { SipFlow, SipFlowEvents } from './transport.js'

let next = 0

/**
 * One end of an in-memory flow pair: how the peer's own user agent (the pager)
 * hands requests to its own proxy, e.g. for a phone registered at this peer.
 */
export class LoopbackFlow extends EventEmitter<SipFlowEvents> implements SipFlow {
  readonly transport = 'PARLEY' as const
  readonly id = `loopback-${++next}`
  other!: LoopbackFlow
  open = true

  constructor(readonly remotePublicKey: Buffer) {
    super()
  }

  static pair(publicKey: Buffer): [LoopbackFlow, LoopbackFlow] {
    const a = new LoopbackFlow(publicKey)
    const b = new LoopbackFlow(publicKey)
    a.other = b
    b.other = a
    return [a, b]
  }

  send(message: SipMessage): boolean {
    if (!this.open) return false
    // Serialise and re-parse-free copy: the receiver must not share header arrays with the sender.
    const copy = Object.assign(Object.create(Object.getPrototypeOf(message) as object) as SipMessage, message, {
      headers: message.headers.map((h) => ({ ...h }))
    })
    queueMicrotask(() => this.other.emit('message', copy))
    return true
  }

  close(reason: string): void {
    if (!this.open) return
    this.open = false
    this.other.open = false
    this.emit('close', reason)
    this.other.emit('close', reason)
  }
}
