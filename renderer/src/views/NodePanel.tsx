/** @jsxRuntime automatic */
// (tsx applies the root tsconfig only to files it includes, and renderer/ is
// not among them: the pragma keeps the automatic JSX runtime under Node tests.)
import { useContext, useState } from 'react'
import { SuperNodeMode, type NodeStatus, type RelayStatus } from '../../../app/api/contract.js'
import { ApiContext, errorText } from '../api.js'
import { addressFraction, fmt, idFraction, pointOnRing } from '../components/overlay-geometry.js'
import '../components/theme-fallback.css'
import { AnnoyancePanel } from './AnnoyancePanel.js'
import './node-panel.css'

/** How many routing-table entries the list shows before "and N more". */
const LIST_LIMIT = 12

/** Seconds as h:mm:ss; hours keep counting past a day (26:03:04). */
function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}

/** Bytes in binary units: 512 B, 1.5 KiB, 23.4 MiB. */
function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = Math.max(0, bytes)
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`
}

const count = new Intl.NumberFormat('en')

function packets(n: number): string {
  return `${count.format(n)} packet${n === 1 ? '' : 's'}`
}

function LanList({ testId, entries }: { testId: string; entries: Array<{ key: string; aor: string; displayName: string; at: string }> }) {
  return (
    <ul className="node-panel__list" data-testid={testId}>
      {entries.map((e) => (
        <li key={e.key}>
          <strong>{e.aor}</strong>
          {e.displayName ? ` (${e.displayName})` : ''} at <code>{e.at}</code>
        </li>
      ))}
    </ul>
  )
}

/** mDNS neighbours (docs/lan.md): whether we announce ourselves, and who answered on this network. */
function LocalNetwork({ lan }: { lan: NonNullable<NodeStatus['overlay']['lan']> | null }) {
  return (
    <section aria-labelledby="node-panel-lan">
      <h3 id="node-panel-lan">Local network</h3>
      {lan === null ? (
        <p className="node-panel__muted" data-testid="node-lan">
          Discovery off (turned off, or the DHT runs on loopback).
        </p>
      ) : (
        <>
          <p data-testid="node-lan">{lan.advertising ? 'Announcing this peer with mDNS.' : `Not announcing this peer (${lan.mode === 'browse' ? 'started with --lan browse' : 'privacy setting'}); still finding others.`}</p>
          {lan.peers.length === 0 ? (
            <p className="node-panel__muted">No Parley peers found on this network.</p>
          ) : (
            <LanList testId="node-lan-peers" entries={lan.peers.map((p) => ({ key: `${p.aor}/${p.publicKey}`, aor: p.aor, displayName: p.displayName, at: p.address }))} />
          )}
          {lan.phones.length > 0 && (
            <>
              <p>SIP phones announcing themselves here (calls to them go straight to the phone):</p>
              <LanList testId="node-lan-phones" entries={lan.phones.map((p) => ({ key: `${p.aor}/${p.contact}`, aor: p.aor, displayName: p.displayName, at: p.contact }))} />
            </>
          )}
        </>
      )}
    </section>
  )
}

/** The peer's own node: role, overlay, traffic, routing table, registrations, SIP transports, super-node services and af. */
export function NodePanel({ status }: { status: NodeStatus }) {
  const { overlay, traffic, sip } = status
  return (
    <section className="node-panel" aria-labelledby="node-panel-title">
      <h2 id="node-panel-title">
        This node <span className={`node-panel__role node-panel__role--${status.role}`} data-testid="node-role">{status.role}</span>
        {status.relay.role === 'stepping-down' ? <span className="node-panel__muted">stepping down</span> : null}
      </h2>
      <p className="node-panel__reason" data-testid="node-role-reason">{status.relay.reason}</p>
      <p className="node-panel__who">
        <strong>{status.displayName ?? status.aor}</strong>
        {status.displayName ? ` <${status.aor}>` : null} · key <code title={status.publicKey}>{status.fingerprint}</code>
      </p>

      <div className="node-panel__grid">
        <section aria-labelledby="node-panel-overlay">
          <h3 id="node-panel-overlay">Overlay</h3>
          <dl>
            <dt>Uptime</dt>
            <dd data-testid="node-uptime">{formatUptime(status.uptimeS)}</dd>
            <dt>State</dt>
            <dd>{overlay.state}</dd>
            <dt>DHT address</dt>
            <dd>{overlay.dhtAddress ? <code>{overlay.dhtAddress}</code> : 'not known yet'}</dd>
            <dt>Firewalled</dt>
            <dd className={overlay.firewalled ? 'node-panel__warn' : 'node-panel__ok'}>{overlay.firewalled ? 'yes: others cannot reach it directly' : 'no: reachable'}</dd>
            <dt>Connections</dt>
            <dd>{count.format(status.connections)}</dd>
          </dl>
        </section>

        <section aria-labelledby="node-panel-traffic">
          <h3 id="node-panel-traffic">Traffic</h3>
          <dl>
            <dt>In</dt>
            <dd data-testid="node-traffic-in">
              {formatBytes(traffic.bytesIn)} · {packets(traffic.packetsIn)}
            </dd>
            <dt>Out</dt>
            <dd data-testid="node-traffic-out">
              {formatBytes(traffic.bytesOut)} · {packets(traffic.packetsOut)}
            </dd>
            <dt>Messages</dt>
            <dd>
              {count.format(status.messages.received)} received · {count.format(status.messages.sent)} sent
            </dd>
          </dl>
        </section>

        <section aria-labelledby="node-panel-sip">
          <h3 id="node-panel-sip">SIP</h3>
          <dl>
            <dt>Transports</dt>
            <dd>
              {sip.transports.length === 0 ? (
                'none'
              ) : (
                <ul className="node-panel__list">
                  {sip.transports.map((t) => (
                    <li key={`${t.transport}/${t.host}:${t.port}`}>
                      <code>
                        {t.transport.toUpperCase()} {t.host}:{t.port}
                      </code>
                    </li>
                  ))}
                </ul>
              )}
            </dd>
            <dt>Bound AORs</dt>
            <dd>{count.format(sip.boundAors)}</dd>
            <dt>Transactions</dt>
            <dd>
              {count.format(sip.transactions.server)} server · {count.format(sip.transactions.client)} client
            </dd>
          </dl>
        </section>

        <section aria-labelledby="node-panel-registrations">
          <h3 id="node-panel-registrations">Registrations</h3>
          {status.registrations.length === 0 ? (
            <p className="node-panel__muted">No AOR announced.</p>
          ) : (
            <ul className="node-panel__list">
              {status.registrations.map((r) => (
                <li key={r.aor} className={r.error ? 'node-panel__warn' : undefined}>
                  <strong>{r.aor}</strong>: {r.state}
                  {r.lastAnnouncedAt ? `, last announced ${new Date(r.lastAnnouncedAt).toLocaleTimeString()}` : ''}
                  {`, stored at ${r.storedAt} node${r.storedAt === 1 ? '' : 's'}`}
                  {r.error ? ` (${r.error})` : ''}
                </li>
              ))}
            </ul>
          )}
        </section>

        <LocalNetwork lan={overlay.lan ?? null} />
      </div>

      <SuperNode relay={status.relay} />

      <section aria-labelledby="node-panel-routing" className="node-panel__routing">
        <h3 id="node-panel-routing">
          Routing table <span className="node-panel__muted">({count.format(overlay.routingTableSize)} nodes)</span>
        </h3>
        <RoutingRing status={status} />
        {overlay.routingTable.length === 0 ? (
          <p className="node-panel__muted">Empty: the node has not joined the overlay yet.</p>
        ) : (
          <ul className="node-panel__list node-panel__routes">
            {overlay.routingTable.slice(0, LIST_LIMIT).map((e) => (
              <li key={`${e.id}@${e.host}:${e.port}`}>
                <code title={e.id}>{e.id.slice(0, 8)}…</code> {e.host}:{e.port}
              </li>
            ))}
            {overlay.routingTable.length > LIST_LIMIT ? <li className="node-panel__muted">and {overlay.routingTable.length - LIST_LIMIT} more</li> : null}
          </ul>
        )}
      </section>
    </section>
  )
}

/**
 * Super-node services (TURN, blind relay), the mode the user chose and af.
 * The mode is set through the API when one is there (not when rendered alone);
 * its answer is shown until the next status poll brings the same.
 */
function SuperNode({ relay }: { relay: RelayStatus }) {
  const api = useContext(ApiContext)
  const [answer, setAnswer] = useState<{ to: RelayStatus; of: RelayStatus } | null>(null)
  const [pending, setPending] = useState<SuperNodeMode | null>(null)
  const [error, setError] = useState<string | null>(null)
  const shown = answer?.of === relay ? answer.to : relay
  const { services } = shown

  const choose = async (mode: SuperNodeMode) => {
    if (!api) return
    setPending(mode)
    try {
      setAnswer({ to: await api.call('relay.setMode', { mode }), of: relay })
      setError(null)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setPending(null)
    }
  }

  return (
    <section aria-labelledby="node-panel-relay" className="node-panel__relay">
      <h3 id="node-panel-relay">Super-node</h3>
      <div className="node-panel__grid">
        <dl>
          <dt>
            <label htmlFor="supernode-mode">Mode</label>
          </dt>
          <dd>
            <select id="supernode-mode" data-testid="supernode-mode" value={pending ?? shown.mode} disabled={!api || pending !== null} onChange={(e) => void choose(SuperNodeMode.parse(e.target.value))}>
              <option value="auto">auto: when af allows</option>
              <option value="always">always</option>
              <option value="never">never</option>
            </select>
            {error ? <span className="node-panel__warn"> {error}</span> : null}
          </dd>
          <dt>Role</dt>
          <dd>
            {shown.role} since {new Date(shown.since).toLocaleTimeString()}
          </dd>
          <dt>TURN</dt>
          <dd>{services.turn ? <code>{`${services.turn.host}:${services.turn.port}`}</code> : 'not running'}</dd>
          <dt>Blind relay</dt>
          <dd>{services.blindRelay ? 'running' : 'not running'}</dd>
          <dt>Allocations</dt>
          <dd>
            <span data-testid="node-turn-allocations">{count.format(services.allocations)}</span> TURN · {count.format(services.blindSessions)} blind
          </dd>
          <dt>Free slots</dt>
          <dd data-testid="node-free-slots">{count.format(services.freeSlots)}</dd>
          <dt>Refused</dt>
          <dd data-testid="node-refused">{count.format(services.refused)}</dd>
          <dt>Super-nodes seen</dt>
          <dd>{count.format(shown.sampledSuperNodes)}</dd>
        </dl>
        <AnnoyancePanel annoyance={shown.annoyance} />
      </div>
    </section>
  )
}

/** The routing table's entries as dots on the identifier ring, each at its id's angle. */
function RoutingRing({ status }: { status: NodeStatus }) {
  const size = 120
  const c = { x: size / 2, y: size / 2 }
  const r = size / 2 - 8
  const entries = status.overlay.routingTable
  return (
    <svg className="node-panel__ring" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={`${entries.length} routing-table entries on the identifier ring`}>
      <circle className="node-panel__ring-line" cx={c.x} cy={c.y} r={r} />
      {entries.map((e) => {
        const p = pointOnRing(c, r, /^[0-9a-f]+$/i.test(e.id) ? idFraction(e.id) : addressFraction(e.host, e.port))
        return (
          <circle key={`${e.id}@${e.host}:${e.port}`} className="node-panel__ring-dot" cx={fmt(p.x)} cy={fmt(p.y)} r={3}>
            <title>{`${e.id.slice(0, 8)}… ${e.host}:${e.port}`}</title>
          </circle>
        )
      })}
    </svg>
  )
}
