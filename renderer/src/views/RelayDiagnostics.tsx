/** @jsxRuntime automatic */
// (tsx applies the root tsconfig only to files it includes, and renderer/ is
// not among them: the pragma keeps the automatic JSX runtime under Node tests.)
import type { RelayCandidate } from '../../../app/api/contract.js'
import type { CallRelayView, FailoverRecord } from '../phone/call-relays.js'
import type { MediaPath, PathEnd } from '../phone/media-path.js'
import type { RecoveryState } from '../phone/relay-failover.js'
import './relay-diagnostics.css'

const ROLE_ORDER: Record<RelayCandidate['role'], number> = { primary: 0, backup: 1, rejected: 2 }

const RECOVERY: Record<RecoveryState, string> = {
  new: 'connecting',
  up: 'flowing',
  interrupted: 'interrupted',
  'awaiting-remote': 'interrupted: waiting for the far end to restart ICE',
  recovering: 'interrupted: restarting ICE',
  'gave-up': 'stopped: no restart brought it back',
  closed: 'closed'
}

export const shortKey = (key: string | null) => (key ? `${key.slice(0, 8)}…` : 'none')
const orDash = (v: number | null, f: (n: number) => string) => (v === null ? '–' : f(v))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

function uptime(s: number): string {
  const t = Math.max(0, Math.floor(s))
  return `${Math.floor(t / 3600)}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`
}

function end(e: PathEnd): string {
  return `${e.type} ${e.address ?? '?'}${e.port === null ? '' : `:${e.port}`}`
}

function describePath(p: MediaPath): string {
  const via = p.localRelayed ? ` via our TURN server ${p.local.url ?? ''}${p.local.relayProtocol ? ` (${p.local.relayProtocol})` : ''}` : p.remoteRelayed ? ' via the far end’s TURN server' : ''
  return `ours ${end(p.local)} ↔ theirs ${end(p.remote)}${via}`
}

/** One line of the media-path summary, for the call panel's collapsed diagnostics. */
export function pathSummary(relay: CallRelayView): string {
  if (relay.recovery !== 'up' && relay.recovery !== 'new') return RECOVERY[relay.recovery]
  return relay.path?.kind ?? (relay.planError ? 'no relays' : 'connecting')
}

/** A call's relays: the plan (primary, backups, rejected ones and why), the path media takes, each failover. */
export function RelayDiagnostics({ relay }: { relay: CallRelayView }) {
  const { plan, path } = relay
  const candidates = [...(plan?.candidates ?? [])].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role])
  return (
    <section className="relay-diagnostics" data-testid="relay-diagnostics" data-recovery={relay.recovery} aria-label="Media path and relays">
      <dl className="relay-diagnostics__facts">
        <dt>Media path</dt>
        <dd>
          {path ? (
            <>
              <strong data-testid="media-path">{path.kind}</strong> <span className="relay-diagnostics__muted">{describePath(path)}</span>
            </>
          ) : (
            <span className="relay-diagnostics__muted">not known yet</span>
          )}
        </dd>
        <dt>Media</dt>
        <dd data-testid="media-recovery">{RECOVERY[relay.recovery]}</dd>
        <dt>Relays</dt>
        <dd>
          {plan ? (
            <span data-testid="relay-plan">
              {plan.needed ? 'needed' : 'not needed'}: {plan.reason}
              {relay.planMs === null ? '' : ` (chosen in ${relay.planMs} ms)`}
            </span>
          ) : relay.planError ? (
            <span className="relay-diagnostics__error" data-testid="relay-plan-error">
              {relay.planError}
            </span>
          ) : (
            <span className="relay-diagnostics__muted">asking the peer…</span>
          )}
        </dd>
      </dl>
      {candidates.length > 0 && (
        <table className="relay-diagnostics__candidates">
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Relay</th>
              <th scope="col">TURN</th>
              <th scope="col">af</th>
              <th scope="col">RTT</th>
              <th scope="col">Loss</th>
              <th scope="col">Up</th>
              <th scope="col">Free</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {candidates.map((c) => (
              <tr key={c.publicKey} data-testid="relay-candidate" data-role={c.role} className={`relay-diagnostics__candidate--${c.role}`}>
                <td>{c.role}</td>
                <td>
                  <code title={c.publicKey}>{shortKey(c.publicKey)}</code>
                </td>
                <td>{c.turn ? <code>{c.turn}</code> : '–'}</td>
                <td>{orDash(c.af, (v) => v.toFixed(2))}</td>
                <td>{orDash(c.rttMs, (v) => `${Math.round(v)} ms`)}</td>
                <td>{orDash(c.loss, (v) => `${(v * 100).toFixed(1)} %`)}</td>
                <td>{orDash(c.uptimeS, uptime)}</td>
                <td>{orDash(c.freeSlots, String)}</td>
                <td>{c.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <section data-testid="relay-failovers" aria-label="Failovers">
        <h4>Failovers</h4>
        {relay.failovers.length === 0 ? (
          <p className="relay-diagnostics__muted">None.</p>
        ) : (
          <ol className="relay-diagnostics__failovers">
            {relay.failovers.map((f) => (
              <Failover key={`${f.at}-${f.kind}`} record={f} />
            ))}
          </ol>
        )}
      </section>
    </section>
  )
}

function Failover({ record: f }: { record: FailoverRecord }) {
  const what = f.kind === 'failover' ? `relay failover ${shortKey(f.from)} → ${shortKey(f.to)}` : f.kind === 'restart' ? `ICE restart${f.from ? ` (relay ${shortKey(f.from)})` : ''}` : 'the far end restarted ICE'
  return (
    <li data-testid="relay-failover" data-kind={f.kind}>
      <time dateTime={new Date(f.at).toISOString()}>{new Date(f.at).toLocaleTimeString()}</time> {what}
      {': '}
      {f.interruptedMs === null ? 'media not back yet' : `media back after ${seconds(f.interruptedMs)}`}
      {f.attempts > 1 ? ` (${f.attempts} re-INVITEs)` : ''}
      {f.error ? <span className="relay-diagnostics__error"> ({f.error})</span> : null}
    </li>
  )
}
