import type { SipResponse } from '../message.js'
import type { ClientTransaction } from '../transaction/client-transaction.js'

/** One forwarded copy of a request and what became of it (RFC 3261 §16.7). */
export interface Branch {
  tx: ClientTransaction
  final: SipResponse | null
  /** Synthesised final status when the branch timed out or failed (408/503). */
  failure: number | null
  provisional: boolean
  cancelPending: boolean
  cancelled: boolean
}

/**
 * The best final response among the branches (§16.7 step 6): any 6xx first,
 * then the lowest class among 3xx–5xx, 503 reported as 500 (§16.7 step 6).
 */
export function bestResponse(branches: Branch[]): { response: SipResponse | null; status: number } {
  let best: { response: SipResponse | null; status: number } | null = null
  for (const b of branches) {
    const status = b.final?.status ?? b.failure ?? 408
    const candidate = { response: b.final, status }
    if (!best) best = candidate
    else if (Math.floor(status / 100) === 6 && Math.floor(best.status / 100) !== 6) best = candidate
    else if (Math.floor(best.status / 100) !== 6 && Math.floor(status / 100) < Math.floor(best.status / 100)) best = candidate
  }
  best ??= { response: null, status: 408 }
  if (best.status === 503) best = { response: null, status: 500 }
  return best
}
