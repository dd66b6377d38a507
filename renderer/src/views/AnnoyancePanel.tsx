/** @jsxRuntime automatic */
// (the pragma keeps the automatic JSX runtime under Node tests, as in NodePanel.tsx)
import type { Annoyance } from '../../../app/api/contract.js'

const TERMS = ['cpu', 'bandwidth', 'calls', 'interactivity'] as const
const TERM_LABEL: Record<(typeof TERMS)[number], string> = { cpu: 'CPU', bandwidth: 'Bandwidth', calls: 'Relayed calls', interactivity: 'Interactivity' }

const pct = (share: number) => `${Math.round(share * 100)} %`

/** Bytes per second as bit rates: 800 bit/s, 32.8 kbit/s, 1.2 Mbit/s. */
function rate(bytesPerS: number): string {
  const bits = Math.max(0, bytesPerS) * 8
  if (bits < 1000) return `${Math.round(bits)} bit/s`
  if (bits < 1e6) return `${(bits / 1e3).toFixed(1)} kbit/s`
  return `${(bits / 1e6).toFixed(1)} Mbit/s`
}

function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/**
 * af(): how much the user would notice this machine relaying for others
 * (0 not at all, 1 surely), with each term, the measurements behind it, the
 * user's limits and the promotion thresholds (DESIGN.md: Relaying).
 */
export function AnnoyancePanel({ annoyance: a }: { annoyance: Annoyance }) {
  const { inputs: i, limits, thresholds } = a
  return (
    <section className="annoyance" aria-labelledby="annoyance-title">
      <h4 id="annoyance-title">Annoyance</h4>
      <p className="annoyance__score">
        af <meter min={0} max={1} low={thresholds.promote} high={thresholds.demote} optimum={0} value={a.af} aria-label="af" />{' '}
        <strong data-testid="node-af">{a.af.toFixed(2)}</strong>
        {a.veto ? (
          <>
            {' '}
            <span className="node-panel__warn" data-testid="node-af-veto">
              vetoed: {a.veto}
            </span>
          </>
        ) : null}
        <span className="node-panel__muted">
          {' '}
          promote below {thresholds.promote}, step down above {thresholds.demote}
        </span>
      </p>
      <table className="annoyance__terms">
        <tbody>
          {TERMS.map((t) => (
            <tr key={t} data-testid="af-term" data-term={t}>
              <th scope="row">{TERM_LABEL[t]}</th>
              <td>
                <meter min={0} max={1} value={Math.min(1, Math.max(0, a.terms[t]))} aria-label={TERM_LABEL[t]} />
              </td>
              <td>{a.terms[t].toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl>
        <dt>CPU</dt>
        <dd>
          {pct(i.cpuProcess)} of the machine (system {pct(i.cpuSystem)})
        </dd>
        <dt>Traffic</dt>
        <dd>
          {rate(i.bytesInPerS)} in · {rate(i.bytesOutPerS)} out, of which relayed {rate(i.relayBytesPerS)}
        </dd>
        <dt>Relayed calls</dt>
        <dd>{i.relayedCalls}</dd>
        <dt>Up</dt>
        <dd>{duration(i.uptimeS)}</dd>
        <dt>Reachable</dt>
        <dd>{i.firewalled ? `no: firewalled${i.randomized ? ', symmetric NAT' : ''}` : 'yes'}</dd>
        <dt>Idle</dt>
        <dd>{i.idleS === null ? 'unknown' : duration(i.idleS)}</dd>
        <dt>Battery</dt>
        <dd>{i.onBattery === null ? 'unknown' : i.onBattery ? 'on battery' : 'on mains'}</dd>
        <dt>Limits</dt>
        <dd>
          {limits.neverRelay ? 'never relay' : `up to ${limits.relayMaxKbps} kbit/s and ${limits.relayMaxCalls} call${limits.relayMaxCalls === 1 ? '' : 's'}`}
        </dd>
      </dl>
    </section>
  )
}
