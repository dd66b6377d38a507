import { useState, type FormEvent } from 'react'
import type { TraceEntry } from '../../../app/api/contract.js'
import { errorText, sameTrace, useApi, useTraces } from '../api.js'
import { OverlayMap } from '../components/OverlayMap.js'

const REASONS: Record<TraceEntry['reason'], string> = { lookup: 'lookup', proxy: 'call', message: 'message', presence: 'presence' }

/** Look an AOR up on the overlay and see the route the query took; also the lookups behind calls and messages. */
export function Overlay({ ownAor }: { ownAor: string }) {
  const api = useApi()
  const traces = useTraces()
  const [aor, setAor] = useState('')
  const [chosen, setChosen] = useState<TraceEntry | null>(null)
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)

  const lookup = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    setResult(null)
    const target = aor.trim().replace(/^(?!sips?:)/i, 'sip:')
    try {
      const r = await api.call('lookup', { aor: target, trace: true })
      setResult(r.keys.length ? `${r.aor}: ${r.keys.length} announced key${r.keys.length === 1 ? '' : 's'}${r.pinned ? ' (pinned key among them)' : ''}` : `${r.aor}: nobody announced it`)
      if (r.trace) setChosen({ aor: r.aor, reason: 'lookup', keys: r.keys, trace: r.trace })
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const shown = chosen ?? traces[0] ?? null
  return (
    <section className="overlay" aria-labelledby="overlay-title">
      <h2 id="overlay-title">Overlay</h2>
      <form className="inline-form" onSubmit={(e) => void lookup(e)}>
        <label className="visually-hidden" htmlFor="lookup-input">
          Address to look up
        </label>
        <input id="lookup-input" data-testid="lookup-input" value={aor} onChange={(e) => setAor(e.target.value)} placeholder={ownAor} autoComplete="off" />
        <button type="submit" data-testid="lookup-submit" disabled={busy || !aor.trim()}>
          {busy ? 'Looking up…' : 'Look up'}
        </button>
      </form>
      <p role="status" className="muted">
        {result}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="overlay__body">
        {shown ? <OverlayMap key={`${shown.aor}@${shown.trace.startedAt}`} entry={shown} /> : <p className="muted">No lookups yet.</p>}
        <div className="overlay__traces">
          <h3>Recent lookups</h3>
          <ul>
            {traces.map((t) => (
              <li key={`${t.aor}@${t.trace.startedAt}`}>
                <button type="button" data-testid="trace-item" aria-pressed={shown !== null && sameTrace(shown, t)} onClick={() => setChosen(t)}>
                  {t.aor.replace(/^sips?:/, '')} <small className="muted">{REASONS[t.reason]} · {t.trace.nodes.length} nodes · {Math.round(t.trace.durationMs)} ms</small>
                </button>
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  )
}
