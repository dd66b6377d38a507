import type { EventEmitter } from 'node:events'
import type { SipMessage } from './message.js'

/** The Via transport tokens Parley speaks (RFC 3261 §18, RFC 7118 for WS). */
export type TransportName = 'UDP' | 'TCP' | 'WS' | 'PARLEY'

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
  readonly transport: TransportName
  /** The authenticated public key of the other end, for peer streams. */
  readonly remotePublicKey: Buffer | null
  /** The other end's address, for TCP and WS flows. */
  readonly remoteHost?: string
  readonly remotePort?: number
  readonly open: boolean
  send(message: SipMessage): boolean
  close(reason: string): void
}

/** Where a message came from: the address it was received from and, on connection-oriented transports, its flow. */
export interface SipSource {
  transport: TransportName
  host: string
  port: number
  flow: SipFlow | null
}

export interface SipTransportEvents {
  /** A well-framed message (it may still be semantically invalid). */
  message: [SipMessage, SipSource]
  /** Bytes that could not be parsed as SIP; the core may answer 400 if it can (RFC 3261 §16.3, §8.2.2). */
  malformed: [raw: Buffer, source: SipSource, reason: string]
}

/**
 * One listening SIP transport: a UDP socket, a TCP or WebSocket server.
 * `sendTo` reaches an address: a datagram on UDP; on TCP an existing
 * connection to that address is reused or a new one is opened (§18.1.1).
 */
export interface SipTransport extends EventEmitter<SipTransportEvents> {
  readonly name: TransportName
  readonly reliable: boolean
  /** Bound address, for Via sent-by and Record-Route. */
  readonly local: { host: string; port: number }
  sendTo(message: SipMessage, host: string, port: number): Promise<void>
  close(): Promise<void>
}
