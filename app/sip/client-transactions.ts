import type { SipRequest, SipResponse } from './message.js'
import type { SipFlow } from './transport.js'

export type TransactionOutcome =
  | { kind: 'response'; response: SipResponse }
  | { kind: 'timeout' }
  | { kind: 'transport-error'; reason: string }

interface Pending {
  method: string
  flow: SipFlow
  resolve: (outcome: TransactionOutcome) => void
  timer: NodeJS.Timeout
  onClose: (reason: string) => void
}

/**
 * Non-INVITE client transactions over reliable flows (RFC 3261 §17.1.2): no
 * retransmission on a stream, Timer F bounds the wait for a final response,
 * responses match by top Via branch and CSeq method (§17.1.3), provisional
 * responses are absorbed, and a flow that closes fails its transactions.
 */
export class ClientTransactions {
  private readonly pending = new Map<string, Pending>()

  constructor(private readonly timerFMs: number) {}

  send(flow: SipFlow, request: SipRequest): Promise<TransactionOutcome> {
    const branch = request.topBranch
    if (!branch) throw new Error('request needs a Via branch')
    return new Promise((resolve) => {
      const done = (outcome: TransactionOutcome) => {
        const p = this.pending.get(branch)
        if (!p) return
        this.pending.delete(branch)
        clearTimeout(p.timer)
        flow.off('close', p.onClose)
        resolve(outcome)
      }
      const onClose = (reason: string) => done({ kind: 'transport-error', reason })
      const timer = setTimeout(() => done({ kind: 'timeout' }), this.timerFMs)
      this.pending.set(branch, { method: request.method, flow, resolve: done, timer, onClose })
      flow.on('close', onClose)
      if (!flow.send(request)) done({ kind: 'transport-error', reason: 'flow not open' })
    })
  }

  /** Hand a response to its transaction; false when none matches (§18.1.2: discard). */
  onResponse(response: SipResponse): boolean {
    const branch = response.topBranch
    const p = branch ? this.pending.get(branch) : undefined
    if (!p || response.cseq?.method !== p.method) return false
    if (response.status >= 200) p.resolve({ kind: 'response', response })
    return true
  }

  cancelAll(reason: string): void {
    for (const p of [...this.pending.values()]) p.resolve({ kind: 'transport-error', reason })
  }
}
