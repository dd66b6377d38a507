import { isIPv4 } from 'node:net'
import { z } from 'zod'
import { canonicalAor, type Aor } from '../identity/aor.js'
import { parseHostPort, type HostAddress } from './host-cache.js'
import { hostKey, parseUri } from '../sip/uri.js'
import { uriTransport } from '../sip/proxy/local-addresses.js'

/**
 * DNS-SD records for SIP URIs on a LAN (draft-lee-sip-dns-sd-uri): one
 * `_sipuri._udp.local` service instance per AOR, named "SIP-URI SP description",
 * with a TXT record of `txtvers`, `name` (display name) and `contact` (one SIP
 * URI). Parley adds `key` (the peer's ed25519 public key, to reach it over the
 * overlay) and `dht` (its DHT node's HOST:PORT, to bootstrap from).
 */
export const SIPURI_TYPE = 'sipuri'
export const SIPURI_PROTOCOL = 'udp'
export const SIPURI_SUFFIX = `._${SIPURI_TYPE}._${SIPURI_PROTOCOL}.local`

/**
 * bonjour-service (through dns-packet) splits names at every '.', so a dot
 * inside the instance label would turn "sip:alice@example.org" into three
 * labels that no DNS-SD browser reads as one instance. The instance name
 * carries U+2024 ONE DOT LEADER instead, which shows as a dot in a browser's
 * list and maps back losslessly (AORs are ASCII).
 */
const DOT_LEADER = '\u2024'

export interface LanAdvert {
  aor: Aor
  displayName: string
  contact: string
  publicKey: Buffer
  dht: string | null
}

export interface LanEntry {
  aor: Aor
  displayName: string
  contact: string
  publicKey: Buffer
  dht: HostAddress | null
}

/** A plain SIP UA's instance (the draft's TXT, no Parley key): reachable at its contact, not over the overlay. */
export interface LanPhoneEntry {
  aor: Aor
  displayName: string
  contact: string
  publicKey: null
}

/** Instance name: the AOR, then the key's first 8 hex digits so one user's devices do not collide. */
export function instanceName(aor: Aor, publicKey: Buffer): string {
  return `${aor.replaceAll('.', DOT_LEADER)} (${publicKey.subarray(0, 4).toString('hex')})`
}

export function txtRecord(a: LanAdvert): Record<string, string> {
  const txt: Record<string, string> = { txtvers: '1', name: a.displayName, contact: a.contact, key: a.publicKey.toString('hex') }
  if (a.dht) txt.dht = a.dht
  return txt
}

const Txt = z.object({
  txtvers: z.literal('1'),
  name: z.string().max(128).default(''),
  contact: z.string().min(5).max(512).regex(/^sips?:/i),
  key: z.string().regex(/^[0-9a-f]{64}$/i).optional(),
  dht: z.string().max(300).optional()
})

/**
 * A browsed service instance as a LAN entry, or why it is not one. `fqdn` is
 * the instance's full name; the instance label is everything before the
 * service suffix, so a standard advertiser's dotted label reads right too.
 */
export function parseService(fqdn: string, txt: unknown): LanEntry | LanPhoneEntry | { error: string } {
  if (!fqdn.toLowerCase().endsWith(SIPURI_SUFFIX)) return { error: `not a ${SIPURI_SUFFIX} instance` }
  const instance = fqdn.slice(0, -SIPURI_SUFFIX.length).replaceAll(DOT_LEADER, '.')
  const uri = instance.split(' ', 1)[0] ?? ''
  let aor: Aor
  try {
    aor = canonicalAor(uri)
  } catch {
    return { error: `instance name is not a SIP URI: ${JSON.stringify(instance.slice(0, 80))}` }
  }
  const parsed = Txt.safeParse(txt)
  if (!parsed.success) return { error: `TXT record without txtvers=1 and a SIP contact, or with a bad field (${parsed.error.issues[0]?.path.join('.')})` }
  if (parsed.data.key === undefined) return { aor, displayName: parsed.data.name, contact: parsed.data.contact, publicKey: null }
  let dht: HostAddress | null = null
  if (parsed.data.dht) {
    try {
      dht = parseHostPort(parsed.data.dht)
    } catch {
      return { error: `bad dht address ${JSON.stringify(parsed.data.dht.slice(0, 80))}` }
    }
  }
  return { aor, displayName: parsed.data.name, contact: parsed.data.contact, publicKey: Buffer.from(parsed.data.key, 'hex'), dht }
}

/** Where a plain SIP UA found on the LAN is sent requests. */
export interface LanPhoneTarget {
  transport: 'UDP' | 'TCP'
  host: string
  port: number
}

/** What the mDNS answer said about the advertising host. */
export interface AdvertisingHost {
  /** The SRV target (`bobs-host.local`). */
  host: string
  /** The SRV port. */
  port: number
  /** The host's A records, and the address the answer came from. */
  addresses: string[]
}

/**
 * Where to reach a keyless instance's contact. Nothing proves who advertises
 * on a LAN, so the contact must point back at the advertising host (one of its
 * addresses, or its SRV target name): a hostile advertiser can then only
 * claim an AOR for itself, never aim calls at a third machine. `sip:` only
 * (no TLS to offer a `sips:` contact), over UDP or TCP.
 */
export function phoneTarget(contact: string, from: AdvertisingHost): LanPhoneTarget | { error: string } {
  const uri = parseUri(contact)
  if (!uri || uri.scheme !== 'sip') return { error: 'contact is not a sip: URI' }
  const transport = uriTransport(uri)
  if (transport !== 'UDP' && transport !== 'TCP') return { error: `contact transport ${transport.slice(0, 16)} is not offered` }
  const byName = hostKey(uri.host).replace(/\.$/, '') === hostKey(from.host).replace(/\.$/, '')
  const host = byName ? from.addresses.find((a) => isIPv4(a)) : from.addresses.includes(uri.host) ? uri.host : undefined
  if (!host || !isIPv4(host)) return { error: `contact host ${JSON.stringify(uri.host.slice(0, 80))} is not the advertising host` }
  return { transport, host, port: uri.port ?? (byName ? from.port : 5060) }
}

/**
 * The SIP contact our advertisement names: the UDP transport, where standard
 * phones on the LAN can send, when it listens on the LAN (`--sip-host` 0.0.0.0
 * or this interface); else our overlay host, which only Parley peers reach.
 */
export function lanContact(aor: Aor, host: string, udp: { host: string; port: number } | null, overlayHost: string): { contact: string; port: number | null } {
  const user = /^sips?:([^@]+)@/i.exec(aor)?.[1]
  const prefix = user ? `sip:${user}@` : 'sip:'
  if (udp && (udp.host === '0.0.0.0' || udp.host === host)) return { contact: `${prefix}${host}:${udp.port}`, port: udp.port }
  return { contact: `${prefix}${overlayHost}`, port: null }
}
