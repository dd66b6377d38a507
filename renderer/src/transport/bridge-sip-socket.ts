import type { Socket } from 'jssip/lib/Socket.js'
import type { ParleyBridge, SipConnection } from '../../../app/api/desktop-bridge.js'

/** Names the bridge in Contact and Via; the peer answers on the same connection, never by address. */
const BRIDGE_HOST = 'parley-bridge.invalid'

/**
 * A JsSIP socket over the desktop preload's SIP connection (a MessagePort to the
 * user's own peer): the renderer's SIP reaches its proxy and registrar with no
 * local network port. One message is one SIP message, as over WebSocket
 * (RFC 7118), and the Via transport is WS, which the peer treats alike.
 */
export class BridgeSipSocket implements Socket {
  private conn: SipConnection | null = null
  private state: 'closed' | 'connecting' | 'open' = 'closed'
  via_transport = 'WS'
  readonly url = `parley-bridge://${BRIDGE_HOST}/sip`
  readonly sip_uri = `sip:${BRIDGE_HOST};transport=ws`

  constructor(private readonly sip: ParleyBridge['sip']) {}

  connect(): void {
    if (this.state !== 'closed') return
    this.state = 'connecting'
    const conn = this.sip.connect({
      onOpen: () => {
        if (this.conn !== conn) return
        this.state = 'open'
        this.onconnect()
      },
      onMessage: (text) => {
        if (this.conn === conn) this.ondata(text)
      },
      onClose: (reason) => {
        // Like WebSocketInterface: nothing is reported for a close JsSIP asked for.
        if (this.conn !== conn) return
        this.conn = null
        this.state = 'closed'
        this.ondisconnect(true, undefined, reason)
      }
    })
    this.conn = conn
  }

  disconnect(): void {
    const conn = this.conn
    this.conn = null
    this.state = 'closed'
    conn?.close()
  }

  send(message: string | ArrayBufferLike | Blob | ArrayBufferView): boolean {
    return typeof message === 'string' && this.state === 'open' && this.conn !== null && this.conn.send(message)
  }

  isConnected(): boolean {
    return this.state === 'open'
  }

  isConnecting(): boolean {
    return this.state === 'connecting'
  }

  // Set by JsSIP's Transport.
  onconnect(): void {}
  ondisconnect(_error: boolean, _code?: number, _reason?: string): void {}
  ondata<T>(_event: T): void {}
}
