import { createSocket, type Socket } from 'node:dgram'
import { parseSipMessage } from '../../app/sip/parser.js'
import type { SipMessage } from '../../app/sip/message.js'

/** A UDP socket on 127.0.0.1 that records every SIP message it receives and lets tests await them. */
export class UdpEndpoint {
  readonly received: SipMessage[] = []
  private waiters: Array<{ match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = []

  private constructor(readonly socket: Socket) {
    socket.on('message', (data) => {
      let m: SipMessage
      try {
        m = parseSipMessage(data)
      } catch {
        return
      }
      this.received.push(m)
      this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true))
    })
  }

  static async open(): Promise<UdpEndpoint> {
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
    return new UdpEndpoint(socket)
  }

  get port(): number {
    return this.socket.address().port
  }

  send(data: Buffer | string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
  }

  /** The first message (already received or future) matching `match`. */
  next(match: (m: SipMessage) => boolean): Promise<SipMessage> {
    const seen = this.received.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.waiters.push({ match, resolve }))
  }

  close(): void {
    this.socket.close()
  }
}
