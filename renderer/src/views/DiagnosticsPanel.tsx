/** @jsxRuntime automatic */
// (the pragma keeps the automatic JSX runtime under Node tests, as in NodePanel.tsx)
import { useContext, useState } from 'react'
import { LogLevel, type DiagReport } from '../../../app/api/contract.js'
import { ApiContext, errorText } from '../api.js'
import './node-panel.css'

/** How many neighbours and lookups the panel lists. */
const LIST_LIMIT = 10

const count = new Intl.NumberFormat('en')
const time = (iso: string) => new Date(iso).toLocaleTimeString()

/**
 * The node's diagnostics (`diag.get`): open peer streams, what it holds for
 * others (counts only), its recent lookups, and the log level, which the
 * selector changes at once through the API (not when rendered alone).
 */
export function DiagnosticsPanel({ report }: { report: DiagReport }) {
  const neighbours = report.neighbours ?? []
  const lookups = report.lookups ?? []
  return (
    <section className="node-panel node-panel__diag" aria-labelledby="node-diag-title">
      <h3 id="node-diag-title">Diagnostics</h3>
      <LogLevelSelect level={report.logLevel} at={report.at} />
      <div className="node-panel__grid">
        <section aria-labelledby="node-diag-neighbours">
          <h4 id="node-diag-neighbours">
            Neighbours <span className="node-panel__muted" data-testid="diag-neighbour-count">{count.format(neighbours.length)}</span>
          </h4>
          {neighbours.length === 0 ? (
            <p className="node-panel__muted">No open peer streams.</p>
          ) : (
            <ul className="node-panel__list">
              {neighbours.slice(0, LIST_LIMIT).map((n) => (
                <li key={`${n.publicKey}@${n.since}`} data-testid="diag-neighbour">
                  {n.direction === 'out' ? '→' : '←'} {n.aor ?? <code title={n.publicKey}>{n.publicKey.slice(0, 12)}…</code>}
                  <span className="node-panel__muted">
                    {n.address ? ` ${n.address}` : ''} since {time(n.since)}
                  </span>
                </li>
              ))}
              {neighbours.length > LIST_LIMIT ? <li className="node-panel__muted">and {neighbours.length - LIST_LIMIT} more</li> : null}
            </ul>
          )}
        </section>
        {report.store ? <StoreCounts store={report.store} /> : null}
      </div>
      <section aria-labelledby="node-diag-lookups">
        <h4 id="node-diag-lookups">Recent lookups</h4>
        {lookups.length === 0 ? (
          <p className="node-panel__muted">None yet.</p>
        ) : (
          <ul className="node-panel__list">
            {lookups.slice(0, LIST_LIMIT).map((l) => (
              <li key={`${l.aor}@${l.startedAt}`} data-testid="diag-lookup">
                {time(l.startedAt)} <strong>{l.aor}</strong> ({l.reason}): {l.keys ? `${l.keys} key${l.keys === 1 ? '' : 's'}` : 'nobody'} in {count.format(l.durationMs)} ms,{' '}
                {l.contacted} nodes asked{l.failed ? `, ${l.failed} failed` : ''}
                {l.hopsToFirstRecord !== null ? `, first record at hop ${l.hopsToFirstRecord}` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  )
}

function StoreCounts({ store }: { store: NonNullable<DiagReport['store']> }) {
  const { dht, mailbox, registrar, messages, voicemails } = store
  return (
    <section aria-labelledby="node-diag-store">
      <h4 id="node-diag-store">Stored here (counts only)</h4>
      <dl>
        <dt>DHT records</dt>
        <dd data-testid="diag-dht">
          {dht.persistent ? `${count.format(dht.announcements)} announcements on ${count.format(dht.topics)} topics, ${count.format(dht.mutables + dht.immutables)} values` : 'none: not a persistent DHT node'}
        </dd>
        <dt>Mailboxes</dt>
        <dd data-testid="diag-mailboxes">{mailbox.active ? `${count.format(mailbox.mailboxes)} held, ${count.format(mailbox.envelopes)} letters` : 'none: not a holder'}</dd>
        <dt>Registrar</dt>
        <dd>
          {count.format(registrar.aors)} AORs, {count.format(registrar.bindings)} bindings
        </dd>
        <dt>Messages</dt>
        <dd data-testid="diag-messages">
          {count.format(messages.received)} received · {count.format(messages.sent)} sent
        </dd>
        <dt>Voicemails</dt>
        <dd>
          {count.format(voicemails.received)} received · {count.format(voicemails.sent)} sent
        </dd>
      </dl>
    </section>
  )
}

/** The running log level; the peer's answer to a change is shown until the next report (`at`) brings the level. */
function LogLevelSelect({ level, at }: { level: LogLevel; at: string }) {
  const api = useContext(ApiContext)
  const [chosen, setChosen] = useState<{ to: LogLevel; at: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const shown = chosen?.at === at ? chosen.to : level
  const choose = async (to: LogLevel) => {
    if (!api) return
    try {
      setChosen({ to: (await api.call('diag.logLevel', { level: to })).level, at })
      setError(null)
    } catch (err) {
      setError(errorText(err))
    }
  }
  return (
    <p>
      <label htmlFor="diag-log-level">Log level </label>
      <select id="diag-log-level" data-testid="diag-log-level" value={shown} disabled={!api} onChange={(e) => void choose(LogLevel.parse(e.target.value))}>
        {LogLevel.options.map((l) => (
          <option key={l} value={l}>
            {l}
          </option>
        ))}
      </select>
      {error ? <span className="node-panel__warn"> {error}</span> : null}
    </p>
  )
}
