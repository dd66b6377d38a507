import type { SipRequest, SipResponse } from '../message.js'
import type { Destination } from './destination.js'
import type { TransactionLayer } from './transaction-layer.js'

export type TransactionOutcome =
  | { kind: 'response'; response: SipResponse }
  | { kind: 'timeout' }
  | { kind: 'transport-error'; reason: string }

/** Send a request as a client transaction and wait for its final outcome (Timer B/F bound the wait). */
export function sendRequest(layer: TransactionLayer, dest: Destination, request: SipRequest): Promise<TransactionOutcome> {
  return new Promise((resolve) => {
    const tx = layer.createClient(request, dest)
    let settled = false
    const done = (outcome: TransactionOutcome) => {
      if (settled) return
      settled = true
      resolve(outcome)
    }
    tx.on('response', (response) => {
      if (response.status >= 200) done({ kind: 'response', response })
    })
    tx.on('timeout', () => done({ kind: 'timeout' }))
    tx.on('transport-error', (err) => done({ kind: 'transport-error', reason: err.message }))
    if (dest.kind === 'flow') {
      const onClose = (reason: string) => done({ kind: 'transport-error', reason })
      dest.flow.once('close', onClose)
      tx.once('terminated', () => dest.flow.off('close', onClose))
    }
    tx.start()
  })
}
