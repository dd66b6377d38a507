import type { CallRecord } from '../../../app/api/contract.js'

/** What the phone noted about one call; times are epoch milliseconds. */
export interface CallLog {
  id: string
  direction: 'incoming' | 'outgoing'
  peer: string
  peerName: string | null
  startedAt: number
  answeredAt: number | null
  endedAt: number
  /** Who ended it, as JsSIP's `originator` says. */
  endedBy: 'local' | 'remote' | 'system'
  /** JsSIP's cause (`JsSIP.C.causes`): 'Canceled', 'Rejected', 'Busy', … */
  cause: string
  sipStatus: number | null
}

const iso = (t: number) => new Date(t).toISOString()

/**
 * The history entry for a call that ended:
 * - answered: media flowed (2xx and ACK), whoever hung up;
 * - incoming, not answered: declined when the user declined (we sent 603),
 *   missed when the caller cancelled, it timed out, or we answered 486 busy;
 * - outgoing, not answered: cancelled when we gave up (CANCEL), declined when
 *   the callee answered 603 Decline (RFC 3261 §21.6.2), failed otherwise.
 */
export function buildCallRecord(log: CallLog): CallRecord {
  let outcome: CallRecord['outcome']
  if (log.answeredAt !== null) outcome = 'answered'
  else if (log.direction === 'incoming') outcome = log.endedBy === 'local' && log.cause !== 'Busy' ? 'declined' : 'missed'
  else if (log.endedBy === 'local' && log.cause === 'Canceled') outcome = 'cancelled'
  else outcome = log.sipStatus === 603 ? 'declined' : 'failed'

  return {
    id: log.id.slice(0, 128),
    direction: log.direction,
    peer: log.peer.slice(0, 512),
    peerName: log.peerName === null ? null : log.peerName.slice(0, 128),
    startedAt: iso(log.startedAt),
    answeredAt: log.answeredAt === null ? null : iso(log.answeredAt),
    endedAt: iso(log.endedAt),
    outcome,
    sipStatus: log.sipStatus,
    durationS: log.answeredAt === null ? null : Math.max(0, Math.round((log.endedAt - log.answeredAt) / 100) / 10)
  }
}
