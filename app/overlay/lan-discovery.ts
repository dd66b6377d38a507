import { EventEmitter } from 'node:events'
import { Bonjour, type Browser, type Service } from 'bonjour-service'
import type { Logger } from 'pino'
import type { Aor } from '../identity/aor.js'
import type { HostAddress } from './host-cache.js'
import { instanceName, parseService, phoneTarget, SIPURI_PROTOCOL, SIPURI_SUFFIX, SIPURI_TYPE, txtRecord, type LanAdvert, type LanEntry, type LanPhoneEntry, type LanPhoneTarget } from './lan-records.js'

export interface LanDiscoveryOptions {
  publicKey: Buffer
  /** IPv4 address of the interface mDNS runs on (the DHT's). */
  interfaceAddress: string
  /** May publish our own AORs; false browses only, whatever setAdvertising says. */
  advertise: boolean
  /** Start without publishing (the user's privacy setting). */
  quiet?: boolean
  /** How often we ask the LAN again; entries not heard of in 3 rounds are dropped. */
  refreshMs?: number
  log: Logger
}

export interface LanPeer extends LanEntry {
  /** Where the mDNS answer came from. */
  address: string
  seenAt: number
}

/** A plain SIP UA advertising itself (no Parley key): the proxy sends its AOR's requests to `target`. */
export interface LanPhone extends LanPhoneEntry {
  address: string
  target: LanPhoneTarget
  seenAt: number
}

export interface LanEvents {
  up: [LanPeer]
  down: [LanPeer]
}

/** A hostile LAN can advertise without end; past this many instances new ones are ignored. */
const MAX_ENTRIES = 512

interface MdnsInternals {
  server: { mdns: EventEmitter; register(records: unknown): void }
}

interface MdnsAnswer {
  name: string
  type: string
}

/**
 * Zeroconf for SIP (draft-lee-sip-dns-sd-uri over mDNS, RFC 6762/6763): our
 * AORs are published as `_sipuri._udp.local` instances and the LAN's are
 * browsed, so peers on one link find each other with no registrar, no
 * internet and no bootstrap node. What is found is a hint to be verified like
 * a DHT record is: the peer stream's Noise handshake proves the key, and the
 * contact book decides whether the key is the user's.
 */
export class LanDiscovery extends EventEmitter<LanEvents> {
  private readonly bonjour: Bonjour
  private browser: Browser | null = null
  private readonly adverts = new Map<Aor, LanAdvert & { port: number }>()
  private readonly published = new Map<Aor, Service>()
  private readonly entries = new Map<string, LanPeer>()
  private readonly phoneEntries = new Map<string, LanPhone>()
  private readonly timer: NodeJS.Timeout
  private advertising: boolean
  private closed = false
  private readonly refreshMs: number
  private readonly log: Logger

  constructor(private readonly opts: LanDiscoveryOptions) {
    super()
    this.log = opts.log
    this.advertising = opts.advertise && !opts.quiet
    this.refreshMs = opts.refreshMs ?? 30_000
    // bind 0.0.0.0: a socket bound to the unicast address never sees 224.0.0.251.
    this.bonjour = new Bonjour({ interface: opts.interfaceAddress, bind: '0.0.0.0' } as object, (err: Error) =>
      this.log.warn({ err: err.message }, 'mDNS: an instance name is taken on this LAN')
    )
    const mdns = (this.bonjour as unknown as MdnsInternals).server.mdns
    // multicast-dns emits 'error' for EADDRINUSE/EACCES; without a listener that would kill the process.
    mdns.on('error', (err: Error) => this.log.warn({ err: err.message }, 'mDNS socket error: LAN discovery is off'))
    mdns.on('warning', (err: Error) => this.log.debug({ err: err.message }, 'mDNS warning'))
    mdns.on('response', (packet: { answers?: MdnsAnswer[]; additionals?: MdnsAnswer[] }) => this.noteSeen(packet))
    this.timer = setInterval(() => this.refresh(), this.refreshMs)
    this.timer.unref()
  }

  /** Start browsing the LAN. */
  start(): void {
    const browser = this.bonjour.find({ type: SIPURI_TYPE, protocol: SIPURI_PROTOCOL })
    browser.on('up', (s: Service) => this.onService(s))
    browser.on('txt-update', (s: Service) => this.onService(s))
    browser.on('srv-update', (s: Service) => this.onService(s))
    browser.on('down', (s: Service) => this.drop(s.fqdn))
    this.browser = browser
  }

  get interfaceAddress(): string {
    return this.opts.interfaceAddress
  }

  get isAdvertising(): boolean {
    return this.advertising
  }

  /** False when started browse-only (`--lan browse`): the privacy setting cannot turn advertising on. */
  get mayAdvertise(): boolean {
    return this.opts.advertise
  }

  /** Publish (or republish with new details) one of our AORs. */
  advertise(advert: LanAdvert & { port: number }): void {
    if (this.closed) return
    this.adverts.set(advert.aor, advert)
    if (this.advertising) this.publish(advert)
  }

  withdraw(aor: Aor): void {
    this.adverts.delete(aor)
    this.unpublish(aor)
  }

  /** The privacy switch: stop announcing ourselves (goodbye packets) or start again. */
  setAdvertising(wanted: boolean): void {
    const on = wanted && this.opts.advertise
    if (on === this.advertising) return
    this.advertising = on
    for (const [aor, advert] of this.adverts) {
      if (on) this.publish(advert)
      else this.unpublish(aor)
    }
    this.log.info({ advertising: on }, 'LAN advertising changed')
  }

  /** Keys of the peers that advertise `aor` on the LAN and answered recently. */
  lookup(aor: Aor): LanPeer[] {
    return this.fresh().filter((e) => e.aor === aor)
  }

  /** A LAN peer's DHT node, to ask it for the handshake directly. */
  dhtAddressOf(publicKey: Buffer): HostAddress | null {
    return this.fresh().find((e) => e.dht && e.publicKey.equals(publicKey))?.dht ?? null
  }

  peers(): LanPeer[] {
    return this.fresh()
  }

  /** Plain SIP UAs advertising `aor` (no Parley key), heard recently. */
  lookupPhone(aor: Aor): LanPhone[] {
    return this.phones().filter((e) => e.aor === aor)
  }

  phones(): LanPhone[] {
    return [...this.phoneEntries.values()].filter((e) => e.seenAt >= this.cutoff())
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.browser?.stop()
    // unpublishAll sends the goodbyes (TTL 0) so browsers drop us now, not in 75 minutes.
    await new Promise<void>((resolve) => this.bonjour.unpublishAll(() => resolve()))
    await new Promise<void>((resolve) => this.bonjour.destroy(() => resolve()))
  }

  private publish(advert: LanAdvert & { port: number }): void {
    this.unpublish(advert.aor)
    const service = this.bonjour.publish({
      name: instanceName(advert.aor, this.opts.publicKey),
      type: SIPURI_TYPE,
      protocol: SIPURI_PROTOCOL,
      port: advert.port,
      // Our own host name: network namespaces and containers share the machine's hostname.
      host: `parley-${this.opts.publicKey.subarray(0, 4).toString('hex')}.local`,
      txt: txtRecord(advert),
      disableIPv6: true
    })
    service.on('error', (err: Error) => this.log.warn({ aor: advert.aor, err: err.message }, 'mDNS publish failed'))
    this.published.set(advert.aor, service)
  }

  private unpublish(aor: Aor): void {
    const service = this.published.get(aor)
    if (!service) return
    this.published.delete(aor)
    service.stop?.()
    // bonjour-service unregisters records by name, and every instance shares the
    // `_sipuri._udp.local` PTR name and our host's A name: stopping one silences
    // the others' answers. Put theirs back.
    const server = (this.bonjour as unknown as MdnsInternals).server
    for (const other of this.published.values()) server.register(other.records())
  }

  private onService(s: Service): void {
    if (!s.fqdn) return
    const parsed = parseService(s.fqdn, s.txt)
    const key = s.fqdn.toLowerCase()
    const address = s.referer?.address ?? ''
    if ('error' in parsed) return this.ignore(s.fqdn, parsed.error)
    if (parsed.publicKey === null) return this.onPhone(key, parsed, s, address)
    if (parsed.publicKey.equals(this.opts.publicKey)) return
    if (!this.entries.has(key) && this.full()) return
    const entry: LanPeer = { ...parsed, address, seenAt: Date.now() }
    const known = this.entries.get(key)
    this.entries.set(key, entry)
    if (!known) this.log.info({ aor: entry.aor, address: entry.address, dht: entry.dht }, 'LAN peer found')
    this.emit('up', entry)
  }

  private onPhone(key: string, parsed: LanPhoneEntry, s: Service, address: string): void {
    const target = phoneTarget(parsed.contact, { host: s.host, port: s.port, addresses: [...(s.addresses ?? []), ...(address ? [address] : [])] })
    if ('error' in target) return this.ignore(s.fqdn, target.error)
    if (!this.phoneEntries.has(key) && this.full()) return
    const known = this.phoneEntries.get(key)
    this.phoneEntries.set(key, { ...parsed, address, target, seenAt: Date.now() })
    if (!known) this.log.info({ aor: parsed.aor, address, target }, 'LAN SIP phone found')
  }

  private ignore(fqdn: string, err: string): void {
    this.log.debug({ instance: fqdn.slice(0, 120), err }, 'LAN instance ignored')
  }

  private full(): boolean {
    return this.entries.size + this.phoneEntries.size >= MAX_ENTRIES
  }

  /** Every answer naming a known instance proves it is still there (the library keeps no such time). */
  private noteSeen(packet: { answers?: MdnsAnswer[]; additionals?: MdnsAnswer[] }): void {
    const now = Date.now()
    for (const rr of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
      if (rr.type !== 'SRV' || !rr.name.toLowerCase().endsWith(SIPURI_SUFFIX)) continue
      const entry = this.entries.get(rr.name.toLowerCase()) ?? this.phoneEntries.get(rr.name.toLowerCase())
      if (entry) entry.seenAt = now
    }
  }

  private drop(fqdn: string | undefined): void {
    if (!fqdn) return
    if (this.phoneEntries.delete(fqdn.toLowerCase())) return
    const entry = this.entries.get(fqdn.toLowerCase())
    if (!entry) return
    this.entries.delete(fqdn.toLowerCase())
    this.log.info({ aor: entry.aor }, 'LAN peer gone')
    this.emit('down', entry)
  }

  private fresh(): LanPeer[] {
    return [...this.entries.values()].filter((e) => e.seenAt >= this.cutoff())
  }

  /** Entries heard of before this are stale: silent for 3 rounds. */
  private cutoff(): number {
    return Date.now() - 3 * this.refreshMs - 5_000
  }

  /** Ask again (answers refresh `seenAt`) and forget instances that stopped answering. */
  private refresh(): void {
    const cutoff = this.cutoff()
    for (const [fqdn, entry] of [...this.entries, ...this.phoneEntries]) {
      if (entry.seenAt >= cutoff) continue
      this.drop(fqdn)
      // The browser too must forget it, or it would not report the instance 'up' when it answers again.
      ;(this.browser as unknown as { removeService(fqdn: string): void } | null)?.removeService(fqdn)
    }
    this.browser?.update()
  }
}
