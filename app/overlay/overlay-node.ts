import { EventEmitter } from 'node:events'
import { networkInterfaces } from 'node:os'
import HyperDHT from 'hyperdht'
import type { DhtServer, KeyPair, NoiseSecretStream } from 'hyperdht'
import type { Logger } from 'pino'
import type { Aor } from '../identity/aor.js'
import { HostCache, parseHostPort, type HostAddress } from './host-cache.js'
import { Registration, type RegistrationTimers } from './registration.js'
import { aorTopic } from './topic.js'
import { LookupTracer, type LookupTrace } from './lookup-trace.js'
import { localRecords } from './local-records.js'
import { LanDiscovery, type LanPeer } from './lan-discovery.js'
import { preflightBootstrap } from './bootstrap-preflight.js'

export interface OverlayOptions {
  keyPair: KeyPair
  /** Data directory for the host cache; none means no cache. */
  dataDir?: string
  /** HOST:PORT strings; undefined means the public HyperDHT bootstrap nodes. */
  bootstrap?: string[]
  /** Address to bind the DHT socket to. */
  host?: string
  port?: number
  log: Logger
  registration?: Partial<RegistrationTimers>
  /** How often a node that started its own overlay tries the configured bootstrap again. */
  rejoinMs?: number
  hostCacheSaveMs?: number
  /** A blind relay for peer streams when a direct connection may fail (symmetric NAT). */
  relayThrough?: (remote: Buffer | null) => Buffer | null
  /** mDNS/DNS-SD on the DHT's interface (never on loopback); absent means off. */
  lan?: LanOptions
}

export interface LanOptions {
  /** May publish our AORs on the LAN; false only browses (privacy, `--lan browse`). */
  advertise: boolean
  /** Start without publishing (the user's setting); `lan.setAdvertising(true)` may publish later. */
  quiet?: boolean
  displayName: string
  /** The TXT `contact` and SRV port for an AOR (a SIP transport's, when the peer runs one). */
  contact: (aor: Aor, host: string) => { contact: string; port: number | null }
  refreshMs?: number
}

/**
 * `joined`: part of an existing overlay found through a bootstrap or cached node.
 * `new`: no bootstrap answered, so this node is the first node of an overlay of
 * its own that others can bootstrap from; it keeps trying to join the configured one.
 */
export type OverlayState = 'starting' | 'joined' | 'new' | 'closed'

export interface LookupResult {
  keys: Buffer[]
  trace?: LookupTrace
  /** `lan`: answered by mDNS neighbours without asking the DHT. */
  via?: 'lan' | 'dht'
}

/** Why a lookup was made, for the UI's overlay map. */
export type LookupReason = 'lookup' | 'proxy' | 'message' | 'presence'

export interface OverlayEvents {
  connection: [NoiseSecretStream]
  state: [OverlayState]
  /** Every traced lookup, so a UI can draw the ones behind calls and messages. */
  lookup: [{ aor: Aor; reason: LookupReason; keys: Buffer[]; trace: LookupTrace }]
  /** Every DHT lookup as it ends, traced or not (`topic`: a non-AOR topic such as the relay topic), for metrics. */
  'lookup-done': [LookupDone]
}

export interface LookupDone {
  reason: LookupReason | 'topic'
  found: number
  durationMs: number
  /** The query ended with an error (an empty overlay); its keys may still come from local records. */
  failed: boolean
  /** `lan`: answered by mDNS neighbours, no DHT query made. */
  via: 'lan' | 'dht'
}

const DEFAULT_TIMERS: RegistrationTimers = { refreshMs: 10 * 60_000, retryMs: 5_000 }

export class OverlayNode extends EventEmitter<OverlayEvents> {
  state: OverlayState = 'starting'
  dht!: HyperDHT
  private server: DhtServer | null = null
  private readonly registrations = new Map<Aor, Registration>()
  private readonly hostCache: HostCache | null
  private readonly bootstrap: string[] | undefined
  private readonly timers: NodeJS.Timeout[] = []
  private closing: Promise<void> | null = null
  private readonly log: Logger
  /** Zeroconf neighbours; null when off or when the DHT is on loopback. */
  lan: LanDiscovery | null = null
  /** How this node left the `new` state: the LAN alone keeps trying the configured bootstrap. */
  private joinedVia: 'bootstrap' | 'lan' | null = null

  constructor(private readonly opts: OverlayOptions) {
    super()
    this.log = opts.log
    this.hostCache = opts.dataDir ? new HostCache(opts.dataDir) : null
    this.bootstrap = opts.bootstrap?.map((b) => {
      parseHostPort(b) // validates; throws with the offending text
      return b
    })
  }

  get publicKey(): Buffer {
    return this.opts.keyPair.publicKey
  }

  async start(): Promise<void> {
    const cached = this.hostCache ? await this.hostCache.load() : { nodes: [] as HostAddress[] }
    if (cached.error) this.log.warn({ err: cached.error }, 'host cache ignored')
    const configured = this.bootstrap ?? HyperDHT.BOOTSTRAP
    this.startLan()
    const bootstrap = [...(await preflightBootstrap(configured, this.opts.host)), ...cached.nodes]
    // Not adaptive: whether this node turns persistent is the promotion policy's call (app/relay).
    this.dht = new HyperDHT({ bootstrap, keyPair: this.opts.keyPair, host: this.opts.host, port: this.opts.port, adaptive: false })
    await this.dht.fullyBootstrapped()

    if (this.dht.toArray().length === 0) {
      await this.startNewOverlay(configured)
    } else {
      this.setState('joined')
    }

    this.server = this.dht.createServer({ relayThrough: () => this.opts.relayThrough?.(null) ?? null }, (stream) => this.emit('connection', stream))
    await this.server.listen(this.opts.keyPair)
    // LAN peers found while bootstrapping may be all there is.
    for (const p of this.lan?.peers() ?? []) void this.joinLanPeer(p)
    if (this.hostCache) this.every(this.opts.hostCacheSaveMs ?? 5 * 60_000, () => this.saveHostCache())
  }

  /** No bootstrap answered: become the first node of an overlay others can join. */
  private async startNewOverlay(configured: string[]): Promise<void> {
    const port = this.dht.address()?.port ?? 0
    await this.dht.destroy()
    const advertised = this.opts.host && this.opts.host !== '0.0.0.0' ? this.opts.host : firstLanAddress()
    this.dht = HyperDHT.bootstrapper(port, advertised, { host: this.opts.host, keyPair: this.opts.keyPair })
    await this.dht.fullyBootstrapped()
    this.setState('new')
    this.log.warn(
      { bootstrap: configured, address: `${advertised}:${this.dht.address()?.port}` },
      'no bootstrap node reachable: started a new overlay of our own'
    )
    this.every(this.opts.rejoinMs ?? 30_000, () => this.tryRejoin(configured))
  }

  private async tryRejoin(configured: string[]): Promise<void> {
    if (this.state !== 'new' && this.joinedVia !== 'lan') return
    for (const entry of configured) {
      if (await this.joinVia(parseHostPort(entry), 'bootstrap')) {
        this.log.info({ bootstrap: entry }, 'bootstrap reachable again: joined the overlay')
        return
      }
    }
  }

  /**
   * Add a node that answers a ping to the routing table; a node still alone
   * (or only on its LAN's overlay) then counts as joined and announces again,
   * so its records reach the overlay it just met.
   */
  private async joinVia(node: HostAddress, via: 'bootstrap' | 'lan'): Promise<boolean> {
    if (!this.dht || this.dht.destroyed) return false
    try {
      await this.dht.ping(node)
    } catch {
      return false
    }
    this.dht.addNode(node)
    const isolated = this.state === 'new' || (this.joinedVia === 'lan' && via === 'bootstrap')
    if (!isolated) return true
    const wasNew = this.state === 'new'
    this.state = 'joined' // before re-announcing, so a second tick does not rejoin again
    this.joinedVia = via
    await Promise.all([...this.registrations.values()].map((r) => r.refresh()))
    if (wasNew) this.emit('state', 'joined')
    return true
  }

  private startLan(): void {
    const lan = this.opts.lan
    if (!lan) return
    const iface = this.opts.host && this.opts.host !== '0.0.0.0' ? this.opts.host : firstLanAddress()
    if (iface.startsWith('127.')) {
      this.log.info({ host: iface }, 'LAN discovery off: the DHT runs on loopback')
      return
    }
    this.lan = new LanDiscovery({ publicKey: this.publicKey, interfaceAddress: iface, advertise: lan.advertise, quiet: lan.quiet, refreshMs: lan.refreshMs, log: this.log })
    this.lan.on('up', (p) => void this.joinLanPeer(p))
    this.lan.start()
  }

  /** A LAN neighbour's DHT node: a bootstrap when we have none, and a close contact anyway. */
  private async joinLanPeer(p: LanPeer): Promise<void> {
    if (!p.dht || this.state === 'starting' || this.state === 'closed') return
    if (await this.joinVia(p.dht, 'lan')) this.log.info({ aor: p.aor, dht: p.dht }, 'joined a LAN neighbour\'s DHT node')
  }

  private advertiseOnLan(aor: Aor): void {
    const lan = this.opts.lan
    if (!this.lan || !lan) return
    const { contact, port } = lan.contact(aor, this.lan.interfaceAddress)
    const dht = this.dhtAddress()
    this.lan.advertise({ aor, displayName: lan.displayName, contact, publicKey: this.publicKey, dht, port: port ?? this.dht.address()?.port ?? 9 })
  }

  private setState(state: OverlayState): void {
    this.state = state
    this.emit('state', state)
  }

  /** This node's DHT socket address, for others to bootstrap from. */
  dhtAddress(): string | null {
    const a = this.dht?.address()
    if (!a) return null
    const host = a.host === '0.0.0.0' ? firstLanAddress() : a.host
    return `${host}:${a.port}`
  }

  /** The routing table's nodes (id, address), for the node panel. */
  routingTable(): Array<{ id: string; host: string; port: number }> {
    if (!this.dht) return []
    return this.dht.table.toArray().map((n) => ({ id: Buffer.from(n.id).toString('hex'), host: n.host, port: n.port }))
  }

  routingTableSize(): number {
    return this.dht ? this.dht.toArray().length : 0
  }

  /** Announce `aor` and keep it announced; resolves after the first attempt. */
  async register(aor: Aor): Promise<Registration> {
    let reg = this.registrations.get(aor)
    if (!reg) {
      reg = new Registration(() => this.dht, aor, this.opts.keyPair, { ...DEFAULT_TIMERS, ...this.opts.registration }, this.log)
      this.registrations.set(aor, reg)
      this.advertiseOnLan(aor)
    }
    await reg.refresh()
    return reg
  }

  async unregister(aor: Aor): Promise<void> {
    const reg = this.registrations.get(aor)
    if (!reg) return
    this.registrations.delete(aor)
    this.lan?.withdraw(aor)
    await reg.stop()
  }

  listRegistrations(): Registration[] {
    return [...this.registrations.values()]
  }

  /** The public keys announcing `aor`, optionally with every DHT node contacted. */
  async lookup(aor: Aor, opts: { trace?: boolean; reason?: LookupReason } = {}): Promise<LookupResult> {
    const result = this.lanLookup(aor, opts) ?? (await this.lookupTopic(aorTopic(aor), { ...opts, reason: opts.reason ?? 'lookup' }))
    if (result.trace) this.emit('lookup', { aor, reason: opts.reason ?? 'lookup', keys: result.keys, trace: result.trace })
    return result
  }

  /** Neighbours advertising `aor` on the LAN answer before the DHT is asked. */
  private lanLookup(aor: Aor, opts: { trace?: boolean; reason?: LookupReason }): LookupResult | null {
    const found = this.lan?.lookup(aor) ?? []
    if (found.length === 0) return null
    const keys = [...new Map(found.map((p) => [p.publicKey.toString('hex'), p.publicKey])).values()]
    this.emit('lookup-done', { reason: opts.reason ?? 'lookup', found: keys.length, durationMs: 0, failed: false, via: 'lan' })
    if (!opts.trace) return { keys, via: 'lan' }
    const nodes = found.map((p, seq) => ({
      seq,
      id: null,
      host: p.address,
      port: p.dht?.port ?? 5353,
      hop: 1,
      parent: null,
      rttMs: null,
      outcome: 'ok' as const,
      records: 1,
      closerNodes: 0
    }))
    const trace: LookupTrace = { target: aorTopic(aor).toString('hex'), startedAt: new Date().toISOString(), durationMs: 0, hopsToFirstRecord: 1, nodes, via: 'lan' }
    return { keys, trace, via: 'lan' }
  }

  /** The public keys announced at any topic (an AOR's, the relay topic). */
  async lookupTopic(topic: Buffer, opts: { trace?: boolean; reason?: LookupReason } = {}): Promise<LookupResult> {
    const startedAt = performance.now()
    let failed = false
    const query = this.dht.lookup(topic)
    const tracer = opts.trace ? new LookupTracer(query, topic) : null
    const seen = new Map<string, Buffer>()
    for (const key of localRecords(this.dht, topic)) seen.set(key.toString('hex'), key)
    try {
      for await (const reply of query) {
        const peers = reply.peers ?? []
        if (tracer && peers.length) tracer.noteRecords(reply.from, peers.length)
        for (const p of peers) seen.set(p.publicKey.toString('hex'), p.publicKey)
      }
    } catch (err) {
      // An empty overlay has nobody to ask; that is "not found", not a failure.
      this.log.debug({ err: (err as Error).message }, 'lookup query ended with an error')
      failed = true
    }
    const keys = [...seen.values()]
    this.emit('lookup-done', { reason: opts.reason ?? 'topic', found: keys.length, durationMs: performance.now() - startedAt, failed, via: 'dht' })
    if (!tracer) return { keys }
    return { keys, trace: tracer.finish() }
  }

  /** Open an encrypted stream to the peer holding `publicKey`. */
  connect(publicKey: Buffer): NoiseSecretStream {
    const relayThrough = this.opts.relayThrough
    // A LAN neighbour's own DHT node holds its server: ask it for the handshake, no lookup needed.
    const lanNode = this.lan?.dhtAddressOf(publicKey)
    return this.dht.connect(publicKey, {
      keyPair: this.opts.keyPair,
      relayThrough: relayThrough ? () => relayThrough(publicKey) : null,
      ...(lanNode ? { relayAddresses: [lanNode] } : {})
    })
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      fn().catch((err: Error) => this.log.warn({ err: err.message }, 'periodic overlay task failed'))
    }, ms)
    t.unref()
    this.timers.push(t)
  }

  private async saveHostCache(): Promise<void> {
    if (!this.hostCache || !this.dht || this.dht.destroyed) return
    await this.hostCache.save(this.dht.toArray({ limit: 64 }))
  }

  /** Graceful leave: withdraw registrations, remember good nodes, close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t)
      await this.lan?.close().catch((err: Error) => this.log.warn({ err: err.message }, 'mDNS close failed'))
      if (this.dht) {
        await Promise.all([...this.registrations.values()].map((r) => r.stop()))
        await this.saveHostCache().catch((err: Error) => this.log.warn({ err: err.message }, 'host cache not saved'))
        if (this.server) await this.server.close().catch(() => {})
        await this.dht.destroy()
      }
      this.registrations.clear()
      this.setState('closed')
    })()
    return this.closing
  }
}

function firstLanAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}
