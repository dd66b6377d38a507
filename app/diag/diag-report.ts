import type HyperDHT from 'hyperdht'
import type { Peer } from '../peer.js'
import {
  MAX_DIAG_LOOKUPS,
  MAX_DIAG_NEIGHBOURS,
  MAX_DIAG_ROUTES,
  type DiagLookup,
  type DiagNeighbour,
  type DiagReport,
  type DiagSection,
  type DiagStore,
  type LogLevel,
  type TraceEntry
} from '../api/contract.js'

export interface ReportSources {
  /** Recent traced lookups, oldest first (what `traces.recent` serves). */
  traces: () => readonly TraceEntry[]
  logLevel: () => LogLevel
}

/** One peer's diagnostics: routing table, open streams, what it holds (counts only), recent lookups. */
export async function gatherDiagnostics(peer: Peer, section: DiagSection, sources: ReportSources): Promise<DiagReport> {
  const wants = (s: DiagSection) => section === 'all' || section === s
  const report: DiagReport = {
    publicKey: peer.identity.keyPair.publicKey.toString('hex'),
    aor: peer.aor,
    at: new Date().toISOString(),
    logLevel: sources.logLevel()
  }
  if (wants('routes')) {
    const table = peer.overlay.routingTable()
    report.routes = { size: table.length, nodes: table.slice(0, MAX_DIAG_ROUTES) }
  }
  if (wants('neighbours')) report.neighbours = neighbours(peer)
  if (wants('store')) report.store = await store(peer)
  if (wants('lookups')) report.lookups = sources.traces().slice(-MAX_DIAG_LOOKUPS).reverse().map(lookupSummary)
  return report
}

function neighbours(peer: Peer): DiagNeighbour[] {
  const byKey = new Map(peer.contacts.list().map((c) => [c.publicKey, c.aor]))
  return peer.diag
    .streams()
    .sort((a, b) => a.since.getTime() - b.since.getTime())
    .slice(0, MAX_DIAG_NEIGHBOURS)
    .map((s) => {
      const publicKey = s.publicKey.toString('hex')
      return { publicKey, aor: byKey.get(publicKey) ?? null, address: s.address, direction: s.direction, since: s.since.toISOString() }
    })
}

async function store(peer: Peer): Promise<DiagStore> {
  const mailbox = await peer.mailbox.status()
  const aors = peer.sip.bindings.aors()
  const voicemails = peer.mailbox.voicemails.list()
  return {
    dht: dhtRecords(peer.overlay.dht),
    mailbox: mailbox.holder,
    registrar: { aors: aors.length, bindings: aors.reduce((n, aor) => n + peer.sip.bindings.lookup(aor).length, 0) },
    messages: { received: peer.store.list({ direction: 'in' }).length, sent: peer.store.list({ direction: 'out' }).length },
    voicemails: { received: voicemails.filter((v) => v.direction === 'in').length, sent: voicemails.filter((v) => v.direction === 'out').length }
  }
}

function lookupSummary(t: TraceEntry): DiagLookup {
  const { trace } = t
  return {
    aor: t.aor,
    reason: t.reason,
    startedAt: trace.startedAt,
    durationMs: Math.round(trace.durationMs),
    hopsToFirstRecord: trace.hopsToFirstRecord,
    keys: t.keys.length,
    contacted: trace.nodes.length,
    failed: trace.nodes.filter((n) => n.outcome !== 'ok').length
  }
}

/** hyperdht's record stores (lib/persistent.js, record-cache, xache) and its router's forwards, counted. */
interface DhtInternals {
  _persistent: {
    records: { size: number; _fresh?: { records: Map<string, unknown> }; _stale?: { records: Map<string, unknown> } }
    mutables: { size: number }
    immutables: { size: number }
  } | null
  _router?: { forwards?: { size: number } }
}

function dhtRecords(dht: HyperDHT | undefined): DiagStore['dht'] {
  const internals = dht as unknown as DhtInternals | undefined
  const held = internals?._persistent ?? null
  const forwards = internals?._router?.forwards?.size ?? 0
  if (!held) return { persistent: false, announcements: 0, topics: 0, mutables: 0, immutables: 0, forwards }
  const topics = new Set([...(held.records._fresh?.records.keys() ?? []), ...(held.records._stale?.records.keys() ?? [])])
  return { persistent: true, announcements: held.records.size, topics: topics.size, mutables: held.mutables.size, immutables: held.immutables.size, forwards }
}
