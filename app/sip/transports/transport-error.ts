import { ParleyError } from '../../errors.js'

/**
 * Why a transport could not send. The core treats every one of these as a
 * transport error (RFC 3261 §8.1.3.1: as if a 503 had been received) and
 * branches on `code` where it cares which.
 */
export class SipTransportError extends ParleyError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details)
    this.name = 'SipTransportError'
  }

  static TRANSPORT_CLOSED(transport: string) {
    return new SipTransportError('TRANSPORT_CLOSED', `the ${transport} transport is closed`, { transport })
  }

  /** WS cannot dial out: the other end must have connected to us first. */
  static NO_FLOW(transport: string, host: string, port: number) {
    return new SipTransportError('NO_FLOW', `no open ${transport} connection from ${host}:${port}, and ${transport} cannot connect out`, { transport, host, port })
  }

  static FLOW_CLOSED(flowId: string) {
    return new SipTransportError('FLOW_CLOSED', `connection ${flowId} closed before the message could be sent`, { flowId })
  }

  static CONNECT_FAILED(host: string, port: number, cause: string) {
    return new SipTransportError('CONNECT_FAILED', `could not connect to ${host}:${port} (${cause})`, { host, port, cause })
  }

  static CONNECTION_LIMIT(limit: number) {
    return new SipTransportError('CONNECTION_LIMIT', `already ${limit} connections open`, { limit })
  }
}
