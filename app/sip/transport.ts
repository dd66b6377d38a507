import type { EventEmitter } from 'node:events'
import type { SipMessage } from './message.js'

export interface SipFlowEvents {
  message: [SipMessage]
  close: [reason: string]
}

/**
 * A connection-oriented flow that carries SIP (RFC 3261 §18): a TCP or WebSocket
 * connection, or an encrypted peer stream. Responses go back on the flow the
 * request came in on (§18.2.2). The SIP layer knows only this interface.
 */
export interface SipFlow extends EventEmitter<SipFlowEvents> {
  readonly id: string
  /** The Via transport token (§18.2.1 "transport"). */
  readonly transport: string
  /** The authenticated public key of the other end, for peer streams. */
  readonly remotePublicKey: Buffer | null
  readonly open: boolean
  send(message: SipMessage): boolean
  close(reason: string): void
}
