import { EventEmitter } from 'node:events'
import { SipRequest, type SipResponse } from '../message.js'
import { deliver, isReliable, type Destination } from './destination.js'
import type { SipTimers } from './timers.js'
import { TimerSet } from './timer-set.js'

/**
 * Client transactions (RFC 3261 §17.1). INVITE:
 *
 *   calling ──1xx──► proceeding ──2xx──► terminated (the ACK for 2xx is end to end)
 *     │ Timer A: resend (UDP)   │ 300–699: send ACK
 *     │ Timer B: timeout        ▼
 *     └──────────────────────► completed ──Timer D──► terminated
 *
 * non-INVITE: trying ──1xx──► proceeding ──final──► completed ──Timer K──► terminated;
 * Timer E resends (UDP), Timer F times out.
 */
export type ClientTransactionState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated'

export interface ClientTransactionEvents {
  response: [SipResponse]
  timeout: []
  'transport-error': [Error]
  terminated: []
}

export class ClientTransaction extends EventEmitter<ClientTransactionEvents> {
  state: ClientTransactionState
  private readonly timers = new TimerSet()
  private final = false

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly t: SipTimers
  ) {
    super()
    this.state = request.method === 'INVITE' ? 'calling' : 'trying'
  }

  get isInvite(): boolean {
    return this.request.method === 'INVITE'
  }

  start(): void {
    this.send(this.request)
    const reliable = isReliable(this.destination)
    if (!reliable) this.retransmit(this.t.T1)
    this.timers.later(64 * this.t.T1, () => {
      // Timer B / Timer F
      if (this.state === 'calling' || this.state === 'trying' || (!this.isInvite && this.state === 'proceeding')) {
        this.emit('timeout')
        this.terminate()
      }
    })
  }

  private retransmit(interval: number): void {
    this.timers.later(interval, () => {
      const waiting = this.isInvite ? this.state === 'calling' : this.state === 'trying' || this.state === 'proceeding'
      if (!waiting) return
      this.send(this.request)
      const next = this.isInvite ? 2 * interval : this.state === 'proceeding' ? this.t.T2 : Math.min(2 * interval, this.t.T2)
      this.retransmit(next)
    })
  }

  onResponse(response: SipResponse): void {
    if (this.state === 'terminated') return
    if (this.state === 'completed') {
      // A retransmitted final response: resend our ACK (§17.1.1.2).
      if (this.isInvite && response.status >= 300) this.send(this.ackFor(response))
      return
    }
    if (response.status < 200) {
      if (this.state === 'calling' || this.state === 'trying') this.state = 'proceeding'
      this.emit('response', response)
      return
    }
    this.final = true
    this.emit('response', response)
    const reliable = isReliable(this.destination)
    if (this.isInvite && response.status < 300) return this.terminate()
    this.state = 'completed'
    this.timers.clear()
    if (this.isInvite) {
      this.send(this.ackFor(response))
      this.timers.later(reliable ? 0 : 64 * this.t.T1, () => this.terminate()) // Timer D (≥ 32 s)
    } else {
      this.timers.later(reliable ? 0 : this.t.T4, () => this.terminate()) // Timer K
    }
  }

  get hasFinalResponse(): boolean {
    return this.final
  }

  /** The ACK for a non-2xx final response (§17.1.1.3): same branch, Request-URI, Call-ID, From, Route. */
  private ackFor(response: SipResponse): SipRequest {
    const ack = new SipRequest('ACK', this.request.uri)
    const via = this.request.getAll('Via')[0]
    if (via) ack.append('Via', via)
    for (const name of ['Max-Forwards', 'From', 'Call-ID']) {
      const v = this.request.get(name)
      if (v !== undefined) ack.append(name, v)
    }
    const to = response.get('To')
    if (to !== undefined) ack.append('To', to)
    ack.append('CSeq', `${this.request.cseq?.seq ?? 0} ACK`)
    for (const r of this.request.lines('Route')) ack.append('Route', r.value)
    return ack
  }

  private send(message: SipRequest): void {
    deliver(this.destination, message).catch((err: Error) => {
      if (this.state === 'terminated') return
      this.emit('transport-error', err)
      this.terminate()
    })
  }

  terminate(): void {
    if (this.state === 'terminated') return
    this.state = 'terminated'
    this.timers.clear()
    this.emit('terminated')
  }
}
