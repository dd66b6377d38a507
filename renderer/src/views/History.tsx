import type { CallRecord } from '../../../app/api/contract.js'
import { useCallHistory } from '../api.js'
import { formatDuration } from './CallPanel.js'

const OUTCOMES: Record<CallRecord['outcome'], string> = {
  answered: 'answered',
  missed: 'missed',
  declined: 'declined',
  failed: 'failed',
  cancelled: 'cancelled'
}

/** Incoming, outgoing and missed calls, newest first; call back from any of them. */
export function History({ onCall, canCall }: { onCall: (aor: string) => void; canCall: boolean }) {
  const calls = useCallHistory()
  return (
    <section className="history" aria-labelledby="history-title">
      <h2 id="history-title">Call history</h2>
      {calls.length === 0 && <p className="muted">No calls yet.</p>}
      <ul className="history__list">
        {calls.map((c) => {
          const who = c.peerName ?? c.peer.replace(/^sips?:/, '')
          return (
            <li key={c.id} className={`history-item history-item--${c.outcome}`} data-testid="history-item" data-outcome={c.outcome} data-direction={c.direction} data-peer={c.peer}>
              <span className="history-item__dir" aria-label={c.direction}>
                {c.direction === 'incoming' ? '↙' : '↗'}
              </span>
              <span className="history-item__who">
                {who}
                <small className="muted">
                  {' '}
                  {c.direction} · {OUTCOMES[c.outcome]}
                  {c.durationS !== null ? ` · ${formatDuration(c.durationS * 1000)}` : ''}
                  {c.sipStatus !== null && c.outcome !== 'answered' ? ` · SIP ${c.sipStatus}` : ''}
                </small>
              </span>
              <time className="history-item__time muted" dateTime={c.startedAt}>
                {new Date(c.startedAt).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}
              </time>
              <button type="button" data-testid="history-callback" disabled={!canCall} onClick={() => onCall(c.peer)} aria-label={`Call ${who} back`}>
                Call back
              </button>
            </li>
          )
        })}
      </ul>
    </section>
  )
}
