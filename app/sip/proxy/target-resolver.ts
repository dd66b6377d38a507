import type { Logger } from 'pino'
import { canonicalAor, type Aor } from '../../identity/aor.js'
import type { BindingStore } from '../../registrar/binding-store.js'
import type { SipFlow } from '../transport.js'
import type { Destination } from '../transaction/destination.js'
import { formatUri, parseUri, type SipUri } from '../uri.js'
import { peerKeyOf, uriTransport, type LocalAddresses } from './local-addresses.js'

/** Where to send a request next, and with which Request-URI. */
export interface Target {
  uri: string
  dest: Destination
}

export type Resolution =
  | { kind: 'targets'; targets: Target[] }
  | { kind: 'local'; aor: Aor }
  | { kind: 'reject'; status: number; reason: string }

/** A LAN phone's advertised contact and the address it was checked to point at. */
export interface LanPhoneRoute {
  contact: string
  target: { transport: 'UDP' | 'TCP'; host: string; port: number }
}

/** A next hop found by DNS (RFC 3263) or a static table. */
export interface HostTarget {
  transport: string
  host: string
  port: number
}

export interface TargetResolverDeps {
  addresses: LocalAddresses
  bindings: BindingStore
  /** AORs this peer answers itself (its own user). */
  localAors: () => Aor[]
  /** Public keys announcing an AOR on the overlay (null: no overlay). */
  overlayLookup: ((aor: Aor) => Promise<Buffer[]>) | null
  ownKey: Buffer
  /** The own user chose busy/do-not-disturb: calls to the own AOR get 486 without ringing. */
  doNotDisturb?: () => boolean
  flowTo: (publicKey: Buffer) => Promise<SipFlow>
  /** Plain SIP UAs advertising an AOR on the LAN (mDNS, no Parley key); asked after the overlay. */
  lanPhones?: (aor: Aor) => LanPhoneRoute[]
  /** RFC 3263 resolution for hosts that are not IP literals; null when switched off. */
  resolveHost: ((uri: SipUri) => Promise<HostTarget[]>) | null
  log: Logger
}

const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$/

/**
 * Turns a Request-URI into next hops (RFC 3261 §16.5): the bindings of a
 * locally registered AOR; our own user; the peer that announces the AOR on the
 * overlay; a `.parley.invalid` peer host; or the host itself, by IP literal or
 * RFC 3263 resolution.
 */
/** Overlay lookups in flight at once; beyond this a request gets 503, so a flood cannot amplify into DHT traffic. */
export const MAX_OVERLAY_LOOKUPS = 64

/** Methods the peer answers for its own user even when a UI has registered that AOR (chat, presence, pings). */
export const PEER_METHODS: ReadonlySet<string> = new Set(['MESSAGE', 'SUBSCRIBE', 'OPTIONS'])

export class TargetResolver {
  private lookupsInFlight = 0

  constructor(private readonly deps: TargetResolverDeps) {}

  /**
   * `inDialog`: the Request-URI is a remote target (a Contact), not an AOR, so
   * no AOR lookups are made (§12.2: in-dialog requests go to the target).
   */
  async resolve(uriText: string, opts: { inDialog?: boolean; method?: string } = {}): Promise<Resolution> {
    const uri = parseUri(uriText)
    if (!uri) return { kind: 'reject', status: 416, reason: 'Unsupported URI Scheme' }
    const peerKey = peerKeyOf(uri.host)
    let ownHost = false
    if (peerKey) {
      if (!peerKey.equals(this.deps.ownKey)) return this.toPeer(peerKey, uriText)
      // Our own peer host: the Contact our presence dialogs hand out. In-dialog
      // requests and the methods the peer answers itself stay here; anything
      // else is for our user, like a request to our AOR.
      const own = this.ownAor(uri)
      if (opts.inDialog || (opts.method !== undefined && PEER_METHODS.has(opts.method))) return { kind: 'local', aor: own }
      ownHost = true
      uriText = own
    } else {
      const contact = this.deps.bindings.findByContact(uri)
      if (contact) return { kind: 'targets', targets: [{ uri: uriText, dest: contact.path }] }
      if (opts.inDialog) return this.toHost(uri, uriText)
    }

    let aor: Aor | null
    try {
      aor = uri.user !== null || ownHost ? canonicalAor(uriText) : null
    } catch {
      aor = null
    }
    if (aor) {
      const local = this.deps.localAors().includes(aor)
      // The UI registers as our own AOR for calls; chat and presence stay with the peer.
      if (local && opts.method !== undefined && PEER_METHODS.has(opts.method)) return { kind: 'local', aor }
      if (local && opts.method === 'INVITE' && this.deps.doNotDisturb?.()) return { kind: 'reject', status: 486, reason: 'Busy Here' }
      const bindings = this.deps.bindings.lookup(aor)
      // A contact's ?headers are not part of a Request-URI (§19.1.5); they stay in the binding.
      if (bindings.length) return { kind: 'targets', targets: bindings.map((b) => ({ uri: formatUri({ ...b.contactUri, headers: null }), dest: b.path })) }
      if (local) return { kind: 'local', aor }
    }
    if (this.deps.addresses.isUsUri(uri)) return { kind: 'reject', status: 404, reason: 'Not Found' }
    if (aor && this.deps.overlayLookup) {
      if (this.lookupsInFlight >= MAX_OVERLAY_LOOKUPS) return { kind: 'reject', status: 503, reason: 'Overlay Busy' }
      this.lookupsInFlight++
      let found: Buffer[]
      try {
        found = await this.deps.overlayLookup(aor)
      } finally {
        this.lookupsInFlight--
      }
      const keys = found.filter((k) => !k.equals(this.deps.ownKey))
      if (keys.length) {
        // One peer per AOR in practice; several keys fork to all of them.
        const settled = await Promise.allSettled(keys.map((k) => this.deps.flowTo(k)))
        const targets = settled.flatMap((s) => (s.status === 'fulfilled' ? [{ uri: uriText, dest: { kind: 'flow' as const, flow: s.value } }] : []))
        return targets.length ? { kind: 'targets', targets } : { kind: 'reject', status: 480, reason: 'Temporarily Unavailable' }
      }
    }
    // After the overlay: a key-proven peer wins over an unproven LAN advertisement of the same AOR.
    const phones = aor ? this.toLanPhones(aor) : []
    if (phones.length) return { kind: 'targets', targets: phones }
    return this.toHost(uri, uriText)
  }

  /** Requests retarget to each advertised contact (as to a registrar binding), sent to its checked address. */
  private toLanPhones(aor: Aor): Target[] {
    return (this.deps.lanPhones?.(aor) ?? []).flatMap((p) => {
      const transport = this.deps.addresses.transport(p.target.transport)
      return transport ? [{ uri: p.contact, dest: { kind: 'address' as const, transport, host: p.target.host, port: p.target.port } }] : []
    })
  }

  /** Our AOR whose user part the URI names, else our first AOR. */
  private ownAor(uri: SipUri): Aor {
    const aors = this.deps.localAors()
    return aors.find((a) => uri.user !== null && a.slice(a.indexOf(':') + 1, a.lastIndexOf('@')) === uri.user) ?? (aors[0] as Aor)
  }

  /** Next hop for a URI taken from a Route header (loose routing, §16.12). */
  async nextHop(uriText: string): Promise<Destination | null> {
    const uri = parseUri(uriText)
    if (!uri) return null
    const key = peerKeyOf(uri.host)
    if (key) {
      const r = await this.toPeer(key, uriText)
      return r.kind === 'targets' ? (r.targets[0]?.dest ?? null) : null
    }
    const r = await this.toHost(uri, uriText)
    return r.kind === 'targets' ? (r.targets[0]?.dest ?? null) : null
  }

  private async toPeer(key: Buffer, uriText: string): Promise<Resolution> {
    try {
      const flow = await this.deps.flowTo(key)
      return { kind: 'targets', targets: [{ uri: uriText, dest: { kind: 'flow', flow } }] }
    } catch {
      return { kind: 'reject', status: 480, reason: 'Temporarily Unavailable' }
    }
  }

  private async toHost(uri: SipUri, uriText: string): Promise<Resolution> {
    let hops: HostTarget[]
    if (IP_LITERAL.test(uri.host)) {
      hops = [{ transport: uriTransport(uri), host: uri.host.replace(/^\[|\]$/g, ''), port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060) }]
    } else if (this.deps.resolveHost) {
      try {
        hops = await this.deps.resolveHost(uri)
      } catch (err) {
        this.deps.log.debug({ host: uri.host, err: (err as Error).message }, 'host resolution failed')
        hops = []
      }
    } else hops = []
    for (const hop of hops) {
      const transport = this.deps.addresses.transport(hop.transport as 'UDP' | 'TCP' | 'WS')
      if (transport && hop.transport !== 'WS') {
        return { kind: 'targets', targets: [{ uri: uriText, dest: { kind: 'address', transport, host: hop.host, port: hop.port } }] }
      }
    }
    return hops.length
      ? { kind: 'reject', status: 503, reason: 'No Usable Transport' }
      : { kind: 'reject', status: 404, reason: 'Not Found' }
  }
}
