/** @jsxRuntime automatic */
import { useEffect, useState, type FormEvent } from 'react'
import { Keypad } from '../components/Keypad.js'
import type { CallQuality } from '../phone/call-quality.js'
import { dtmfTestId, type DtmfTone } from '../phone/dtmf-keys.js'
import type { CallView } from '../phone/phone.js'
import type { RecoveryState } from '../phone/relay-failover.js'
import { pathSummary, RelayDiagnostics } from './RelayDiagnostics.js'

export interface CallActions {
  answer: () => void
  decline: () => void
  hangup: () => void
  toggleMute: () => void
  toggleHold: () => void
  transfer: (target: string) => void
  dtmf: (tone: DtmfTone) => void
  dismiss: () => void
  /** Call someone else too and mix both calls here: a conference. */
  addParticipant: (target: string) => void
}

/** m:ss, or h:mm:ss past an hour. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  const mm = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!active) return
    const t = setInterval(() => setNow(Date.now()), 500)
    return () => clearInterval(t)
  }, [active])
  return now
}

const fmt = (v: number | null, unit: string) => (v === null ? '–' : `${v.toFixed(v < 10 ? 1 : 0)} ${unit}`)

/** While a relay failover or ICE restart brings media back, the user is told the call is still there. */
const MEDIA_DOWN: Partial<Record<RecoveryState, string>> = {
  interrupted: 'Media interrupted: reconnecting…',
  'awaiting-remote': 'Media interrupted: reconnecting…',
  recovering: 'Media interrupted: reconnecting…',
  'gave-up': 'No media: the connection could not be restored'
}

/** The call in progress, above every view: incoming banner, state, timer, quality, controls, DTMF keypad. */
export function CallPanel({ call, quality, actions }: { call: CallView; quality: CallQuality | null; actions: CallActions }) {
  const talking = call.state === 'connected' || call.state === 'on-hold'
  const ringingHere = call.direction === 'incoming' && call.state === 'ringing'
  const now = useNow(call.state !== 'ended')
  const [transferTo, setTransferTo] = useState('')
  const [addTo, setAddTo] = useState('')
  const who = call.peerName ?? call.peer.replace(/^sips?:/, '')
  const elapsed = call.answeredAt === null ? 0 : (call.endedAt ?? now) - call.answeredAt
  const mediaDown = talking && call.relay ? MEDIA_DOWN[call.relay.recovery] : undefined

  const transfer = (e: FormEvent) => {
    e.preventDefault()
    if (transferTo.trim()) actions.transfer(transferTo)
  }

  return (
    <section className={`call-panel call-panel--${call.state}`} aria-label="Call">
      {ringingHere && (
        <div className="incoming" data-testid="incoming-call" role="alertdialog" aria-labelledby="incoming-title">
          <p id="incoming-title">
            <strong>{who}</strong> is calling{call.peerName ? ` (${call.peer})` : ''}
          </p>
          <div className="incoming__actions">
            <button type="button" className="ok" data-testid="incoming-answer" onClick={actions.answer}>
              Answer
            </button>
            <button type="button" className="danger" data-testid="incoming-decline" onClick={actions.decline}>
              Decline
            </button>
          </div>
        </div>
      )}
      <div className="call-panel__summary">
        <span className="call-panel__peer">{who}</span>
        <span className="call-panel__state" role="status" aria-live="assertive">
          <span data-testid="call-state">{call.state}</span>
          {call.state === 'ended' && call.endCause ? <span className="muted" data-testid="call-end-cause"> ({call.endCause})</span> : null}
          {call.earlyMedia && call.state === 'ringing' ? <span className="muted"> (early media)</span> : null}
        </span>
        <span className="call-panel__timer" data-testid="call-timer" aria-label="Call duration">
          {formatDuration(elapsed)}
        </span>
        <span className="call-panel__quality" data-testid="call-quality" aria-label="Call quality">
          {talking && quality
            ? `RTT ${fmt(quality.rttMs, 'ms')} · jitter ${fmt(quality.jitterMs, 'ms')} · loss ${quality.lossPct === null ? '–' : `${quality.lossPct.toFixed(1)} %`}`
            : ''}
        </span>
        {mediaDown && (
          <span className="call-panel__media-down" data-testid="call-media-interrupted" role="status">
            {mediaDown}
          </span>
        )}
      </div>
      {call.state === 'ended' ? (
        <button type="button" className="quiet" onClick={actions.dismiss}>
          Close
        </button>
      ) : ringingHere ? null : (
        <div className="call-panel__body">
          <div className="call-panel__controls">
            <button type="button" data-testid="call-mute" aria-pressed={call.muted} disabled={!talking} onClick={actions.toggleMute}>
              {call.muted ? 'Unmute' : 'Mute'}
            </button>
            <button type="button" data-testid="call-hold" aria-pressed={call.state === 'on-hold'} disabled={!talking} onClick={actions.toggleHold}>
              {call.state === 'on-hold' ? 'Resume' : 'Hold'}
            </button>
            <button type="button" className="danger" data-testid="call-hangup" onClick={actions.hangup}>
              Hang up
            </button>
            <form className="inline-form call-panel__transfer" onSubmit={transfer}>
              <label className="visually-hidden" htmlFor="transfer-input">
                Transfer to
              </label>
              <input id="transfer-input" data-testid="call-transfer-input" value={transferTo} onChange={(e) => setTransferTo(e.target.value)} placeholder="Transfer to…" disabled={!talking} />
              <button type="submit" data-testid="call-transfer" disabled={!talking || !transferTo.trim() || call.transfer === 'pending'}>
                Transfer
              </button>
            </form>
            <form
              className="inline-form call-panel__add"
              onSubmit={(e) => {
                e.preventDefault()
                if (addTo.trim()) actions.addParticipant(addTo)
              }}
            >
              <label className="visually-hidden" htmlFor="add-participant-input">
                Add to the call
              </label>
              <input id="add-participant-input" data-testid="call-add-input" value={addTo} onChange={(e) => setAddTo(e.target.value)} placeholder="Add someone…" disabled={call.state !== 'connected'} />
              <button type="submit" data-testid="call-add" disabled={call.state !== 'connected' || !addTo.trim()}>
                Add
              </button>
            </form>
            {call.transfer === 'failed' && (
              <p role="alert" className="error">
                The transfer failed.
              </p>
            )}
          </div>
          <Keypad label="Send tones (DTMF)" testId={dtmfTestId} onPress={actions.dtmf} disabled={!talking} />
        </div>
      )}
      {call.relay && (
        <details className="call-panel__diagnostics" data-testid="call-diagnostics">
          <summary>Connection: {pathSummary(call.relay)}</summary>
          <RelayDiagnostics relay={call.relay} />
        </details>
      )}
    </section>
  )
}
