import { EventEmitter } from 'node:events'
import type { SipRequest, SipResponse } from '../message.js'
import { deliver, isReliable, type Destination } from './destination.js'
import type { SipTimers } from './timers.js'
import { TimerSet } from './timer-set.js'

/**
 * Server transactions (RFC 3261 §17.2). INVITE:
 *
 *   proceeding ──2xx──► accepted ──Timer L──► terminated   (RFC 6026 §7.1: absorbs
 *       │                                                  INVITE retransmissions,
 *       │                                                  passes further 2xx on)
 *       │ 300–699
 *       ▼
 *   completed ──ACK──► confirmed ──Timer I──► terminated
 *       │ Timer G: resend response (UDP)      Timer H: give up → terminated
 *
 * non-INVITE: trying ──1xx──► proceeding ──final──► completed ──Timer J──► terminated;
 * a retransmitted request gets the last response again.
 */
export type ServerTransactionState = 'trying' | 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated'

export class ServerTransaction extends EventEmitter<{ terminated: []; ack: [SipRequest]; 'ack-timeout': [] }> {
  state: ServerTransactionState
  lastResponse: SipResponse | null = null
  private readonly timers = new TimerSet()

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly t: SipTimers,
    private readonly onError: (err: Error) => void
  ) {
    super()
    this.state = request.method === 'INVITE' ? 'proceeding' : 'trying'
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE'
  }

  respond(response: SipResponse): void {
    if (this.state === 'accepted' && response.status >= 200 && response.status < 300) return this.send(response)
    if (this.state !== 'trying' && this.state !== 'proceeding') return
    this.lastResponse = response
    this.send(response)
    const reliable = isReliable(this.destination)
    if (response.status < 200) {
      if (this.state === 'trying') this.state = 'proceeding'
      return
    }
    if (this.isInvite && response.status < 300) {
      this.state = 'accepted'
      this.timers.later(64 * this.t.T1, () => this.terminate()) // Timer L
      return
    }
    this.state = 'completed'
    if (this.isInvite) {
      if (!reliable) this.retransmitG(this.t.T1)
      this.timers.later(64 * this.t.T1, () => {
        this.emit('ack-timeout')
        this.terminate()
      }) // Timer H
    } else {
      this.timers.later(reliable ? 0 : 64 * this.t.T1, () => this.terminate()) // Timer J
    }
  }

  /** A retransmission of the request arrived (§17.2.1, §17.2.2). */
  onRetransmission(): void {
    if (this.lastResponse && this.state !== 'confirmed' && this.state !== 'accepted') this.send(this.lastResponse)
  }

  /** An ACK matched this INVITE transaction after a non-2xx final response. */
  onAck(ack: SipRequest): void {
    if (this.state !== 'completed') return
    this.state = 'confirmed'
    this.timers.clear()
    this.emit('ack', ack)
    this.timers.later(isReliable(this.destination) ? 0 : this.t.T4, () => this.terminate()) // Timer I
  }

  private retransmitG(interval: number): void {
    this.timers.later(interval, () => {
      if (this.state !== 'completed' || !this.lastResponse) return
      this.send(this.lastResponse)
      this.retransmitG(Math.min(2 * interval, this.t.T2))
    })
  }

  private send(response: SipResponse): void {
    deliver(this.destination, response).catch((err: Error) => this.onError(err))
  }

  terminate(): void {
    if (this.state === 'terminated') return
    this.state = 'terminated'
    this.timers.clear()
    this.emit('terminated')
  }
}
