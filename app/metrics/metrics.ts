import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Peer } from '../peer.js'
import type { PeerSession } from '../peer-session.js'
import type { LookupDone } from '../overlay/overlay-node.js'

/** Seconds; DHT lookups take tens of milliseconds on a LAN and seconds on the public overlay. */
const LOOKUP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const ROLES = ['client', 'super-node', 'stepping-down'] as const
const DIRECTIONS = ['in', 'out'] as const
const LOOKUP_REASONS = ['lookup', 'proxy', 'message', 'presence', 'topic'] as const
const LOOKUP_RESULTS = ['found', 'not_found', 'error'] as const

/**
 * A peer's Prometheus metrics (docs/monitoring.md), on a registry of their own
 * (not prom-client's global one, so several peers in one process never mix).
 * Most values are read from the peer's status at scrape time; DHT lookups are
 * counted and timed as they end (the overlay's `lookup-done` event).
 * Before the first-run setup there is no peer: peer metrics read 0.
 */
export class PeerMetrics {
  readonly registry = new Registry()
  private readonly lookups: Counter<'reason' | 'result'>
  private readonly lookupSeconds: Histogram
  private readonly lanLookups: Counter<'reason'>
  private observed: Peer | null = null

  constructor(private readonly session: Pick<PeerSession, 'peer' | 'on'>, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry]
    const peer = () => this.session.peer

    this.lookups = new Counter({
      name: 'parley_dht_lookups_total',
      help: 'DHT lookups made by this peer, by reason (lookup, proxy, message, presence; topic: relay and other non-AOR topics) and result (found, not_found, error).',
      labelNames: ['reason', 'result'],
      registers
    })
    // Every series exists from the first scrape, so rate() sees the first lookup of each kind.
    for (const reason of LOOKUP_REASONS) for (const result of LOOKUP_RESULTS) this.lookups.inc({ reason, result }, 0)
    this.lookupSeconds = new Histogram({
      name: 'parley_dht_lookup_duration_seconds',
      help: 'How long DHT lookups took, in seconds.',
      buckets: LOOKUP_BUCKETS,
      registers
    })

    this.lanLookups = new Counter({
      name: 'parley_lan_lookups_total',
      help: 'Lookups answered by mDNS neighbours on the LAN without asking the DHT (docs/lan.md), by reason.',
      labelNames: ['reason'],
      registers
    })
    for (const reason of LOOKUP_REASONS) this.lanLookups.inc({ reason }, 0)
    new Gauge({
      name: 'parley_lan_instances',
      help: 'Instances heard on the LAN recently (mDNS, _sipuri._udp): kind="peer" for Parley peers, kind="phone" for plain SIP phones.',
      labelNames: ['kind'],
      registers,
      collect() {
        const lan = peer()?.overlay.lan
        this.set({ kind: 'peer' }, lan?.peers().length ?? 0)
        this.set({ kind: 'phone' }, lan?.phones().length ?? 0)
      }
    })

    new Gauge({
      name: 'parley_registrar_aors',
      help: 'AORs with a live binding in this peer\'s registrar (SIP phones registered here).',
      registers,
      collect() {
        this.set(peer()?.sip.bindings.aorCount ?? 0)
      }
    })
    new Gauge({
      name: 'parley_overlay_registrations',
      help: 'AORs this peer announces on the DHT (its user and registered phones), by announcement state.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset()
        const counts = new Map<string, number>([['announced', 0], ['pending', 0]])
        for (const r of peer()?.overlay.listRegistrations() ?? []) counts.set(r.state, (counts.get(r.state) ?? 0) + 1)
        for (const [state, n] of counts) this.set({ state }, n)
      }
    })
    new Counter({
      name: 'parley_sip_invites_total',
      help: 'INVITE transactions received (calls and re-INVITEs, from phones and peers), whether proxied or answered here.',
      registers,
      collect() {
        this.reset()
        this.inc(peer()?.sip.core.stats.invites ?? 0)
      }
    })
    new Counter({
      name: 'parley_sip_requests_total',
      help: 'SIP requests received on every transport (retransmissions included).',
      registers,
      collect() {
        this.reset()
        this.inc(peer()?.sip.core.stats.requests ?? 0)
      }
    })
    new Gauge({
      name: 'parley_peer_connections',
      help: 'Open encrypted peer streams to other Parley peers.',
      registers,
      collect() {
        this.set(peer()?.connections.size ?? 0)
      }
    })
    new Gauge({
      name: 'parley_relay_sessions',
      help: 'Relay sessions this super-node serves: TURN allocations (kind="turn") and blind-relay pairings of peer streams (kind="blind").',
      labelNames: ['kind'],
      registers,
      collect() {
        const services = peer()?.relay.status().services
        this.set({ kind: 'turn' }, services?.allocations ?? 0)
        this.set({ kind: 'blind' }, services?.blindSessions ?? 0)
      }
    })
    new Gauge({
      name: 'parley_annoyance_factor',
      help: 'The annoyance score af() in [0,1]: how much relaying here would bother the user (docs/relay.md).',
      registers,
      collect() {
        this.set(peer()?.relay.status().annoyance.af ?? 0)
      }
    })
    new Gauge({
      name: 'parley_role',
      help: 'This peer\'s role: 1 for the current one of client, super-node, stepping-down.',
      labelNames: ['role'],
      registers,
      collect() {
        const role = peer()?.relay.status().role
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0)
      }
    })
    new Gauge({
      name: 'parley_dht_routing_table_nodes',
      help: 'Nodes in this peer\'s DHT routing table.',
      registers,
      collect() {
        this.set(peer()?.overlay.routingTableSize() ?? 0)
      }
    })
    new Counter({
      name: 'parley_dht_traffic_bytes_total',
      help: 'Bytes received (direction="in") and sent (direction="out") on the DHT\'s UDP socket: overlay traffic and peer streams.',
      labelNames: ['direction'],
      registers,
      collect() {
        const udx = peer()?.overlay.dht.udx
        this.reset()
        for (const d of DIRECTIONS) this.inc({ direction: d }, (d === 'in' ? udx?.bytesReceived : udx?.bytesTransmitted) ?? 0)
      }
    })
    new Counter({
      name: 'parley_dht_traffic_packets_total',
      help: 'UDP packets received (direction="in") and sent (direction="out") on the DHT\'s socket.',
      labelNames: ['direction'],
      registers,
      collect() {
        const udx = peer()?.overlay.dht.udx
        this.reset()
        for (const d of DIRECTIONS) this.inc({ direction: d }, (d === 'in' ? udx?.packetsReceived : udx?.packetsTransmitted) ?? 0)
      }
    })
    const held = (name: string, help: string, pick: (h: { mailboxes: number; envelopes: number; bytes: number }) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const p = peer()
          this.set(p ? pick((await p.mailbox.status()).holder) : 0)
        }
      })
    held('parley_mailbox_held_mailboxes', 'Mailboxes this super-node holds for offline users (docs/mailbox.md).', (h) => h.mailboxes)
    held('parley_mailbox_held_envelopes', 'Sealed envelopes (offline messages) held for others.', (h) => h.envelopes)
    held('parley_mailbox_held_bytes', 'Bytes of sealed envelopes held for others.', (h) => h.bytes)

    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry })

    if (session.peer) this.observe(session.peer)
    session.on('running', (p) => this.observe(p))
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  private observe(peer: Peer): void {
    if (this.observed === peer) return
    this.observed = peer
    peer.overlay.on('lookup-done', (l) => this.onLookup(l))
  }

  private onLookup(l: LookupDone): void {
    // A LAN answer takes no time and walks no DHT: counted apart, so it does not skew the DHT's latency.
    if (l.via === 'lan') return void this.lanLookups.inc({ reason: l.reason })
    const result = l.found > 0 ? 'found' : l.failed ? 'error' : 'not_found'
    this.lookups.inc({ reason: l.reason, result })
    this.lookupSeconds.observe(l.durationMs / 1000)
  }
}
