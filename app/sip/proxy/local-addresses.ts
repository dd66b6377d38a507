import z32 from 'z32'
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { isIPv4 } from 'node:net'
import type { SipTransport, TransportName } from '../transport.js'
import type { Destination } from '../transaction/destination.js'
import { hostKey, uriParam, type SipUri } from '../uri.js'

export const PEER_HOST_SUFFIX = '.parley.invalid'

/** The host naming a peer by its key: `<z-base-32 key>.parley.invalid` (docs/peer-stream.md). */
export function peerHost(publicKey: Buffer): string {
  return `${z32.encode(publicKey)}${PEER_HOST_SUFFIX}`
}

/** The public key a `.parley.invalid` host names, or null. */
export function peerKeyOf(host: string): Buffer | null {
  const lower = host.toLowerCase()
  if (!lower.endsWith(PEER_HOST_SUFFIX)) return null
  try {
    const key = z32.decode(lower.slice(0, -PEER_HOST_SUFFIX.length))
    return key.length === 32 ? key : null
  } catch {
    return null
  }
}

/**
 * The addresses this element answers to: one per listening transport plus its
 * peer host on the overlay. Used for Via sent-by, Record-Route, recognising our
 * own Route entries (§16.4) and loop detection (§16.3 step 4).
 */
export class LocalAddresses {
  readonly peerHost: string
  private readonly aliases = new Set<string>()
  /** The interfaces' IPv4 addresses, read at most every IFACE_CACHE_MS: isUs and sentBy run for every message. */
  private ipv4Cache: { at: number; list: NetworkInterfaceInfo[] } | null = null

  constructor(
    publicKey: Buffer,
    private readonly transports: SipTransport[],
    extraHosts: string[] = [],
    /** `os.networkInterfaces`: which addresses a transport bound to 0.0.0.0 answers on. */
    private readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces
  ) {
    this.peerHost = peerHost(publicKey)
    for (const h of extraHosts) this.aliases.add(hostKey(h))
  }

  transport(name: TransportName): SipTransport | undefined {
    return this.transports.find((t) => t.name === name)
  }

  /** True when host[:port] names this element (a missing port matches any of our ports). */
  isUs(host: string, port: number | null): boolean {
    const h = hostKey(host)
    if (h === this.peerHost) return true
    for (const t of this.transports) {
      const local = hostKey(t.local.host)
      const sameHost = h === local || this.aliases.has(h) || (local === '0.0.0.0' && (h === '127.0.0.1' || this.localIPv4().some((a) => a.address === h)))
      if (sameHost && (port === null || port === t.local.port)) return true
    }
    return false
  }

  isUsUri(uri: SipUri): boolean {
    return this.isUs(uri.host, uri.port)
  }

  /** The Via sent-by for a message leaving through `dest`. */
  viaFor(dest: Destination): { transport: TransportName; sentBy: string } {
    if (dest.kind === 'flow') {
      if (dest.flow.transport === 'PARLEY') return { transport: 'PARLEY', sentBy: this.peerHost }
      const t = this.transport(dest.flow.transport)
      // A flow with no listening transport of its kind (the UI's socket) is reached through us, the peer host.
      return { transport: dest.flow.transport, sentBy: t ? this.sentBy(t, dest.flow.remoteHost) : this.peerHost }
    }
    return { transport: dest.transport.name, sentBy: this.sentBy(dest.transport, dest.host) }
  }

  /**
   * Our host:port as `toward` sees it. A transport bound to 0.0.0.0 names the
   * interface on `toward`'s subnet: a LAN phone must send its responses and
   * in-dialog requests to an address it can reach, not to 127.0.0.1.
   */
  private sentBy(t: SipTransport, toward: string | undefined): string {
    const host = t.local.host === '0.0.0.0' ? ((toward && addressFacing(toward, this.localIPv4())) ?? '127.0.0.1') : t.local.host
    return `${host.includes(':') ? `[${host}]` : host}:${t.local.port}`
  }

  private localIPv4(): NetworkInterfaceInfo[] {
    const now = Date.now()
    if (!this.ipv4Cache || now - this.ipv4Cache.at > IFACE_CACHE_MS) this.ipv4Cache = { at: now, list: ipv4Addresses(this.interfaces()) }
    return this.ipv4Cache.list
  }

  /** A Record-Route URI for the side of this element that faces `dest` (RFC 5658 when sides differ). */
  recordRouteFor(dest: Destination): string {
    const { transport, sentBy: host } = this.viaFor(dest)
    return `sip:${host};transport=${transport.toLowerCase()};lr`
  }
}

/** Interfaces come and go (DHCP, VPNs) but not per message. */
const IFACE_CACHE_MS = 5_000

export function ipv4Addresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): NetworkInterfaceInfo[] {
  return Object.values(interfaces).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4'))
}

const ipv4Number = (ip: string) => ip.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0)

/** The local IPv4 address (of `addresses`, the interfaces' IPv4 entries) on the same subnet as `remote`, or null (not IPv4, or reached through a router). */
export function addressFacing(remote: string, addresses: NetworkInterfaceInfo[]): string | null {
  if (!isIPv4(remote)) return null
  const r = ipv4Number(remote)
  for (const a of addresses) {
    const mask = ipv4Number(a.netmask)
    if (((ipv4Number(a.address) ^ r) & mask) === 0) return a.address
  }
  return null
}

/** The transport a URI asks for (§18.1.1, RFC 3263 §4.1): its transport parameter, else UDP (TCP for sips). */
export function uriTransport(uri: SipUri): TransportName | 'PARLEY' | 'TLS' | string {
  const t = uriParam(uri, 'transport')
  if (typeof t === 'string') return t.toUpperCase()
  return uri.scheme === 'sips' ? 'TLS' : 'UDP'
}
