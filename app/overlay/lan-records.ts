import { z } from 'zod'
import { canonicalAor, type Aor } from '../identity/aor.js'
import { parseHostPort, type HostAddress } from './host-cache.js'

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
  key: z.string().regex(/^[0-9a-f]{64}$/i),
  dht: z.string().max(300).optional()
})

/**
 * A browsed service instance as a LAN entry, or why it is not one. `fqdn` is
 * the instance's full name; the instance label is everything before the
 * service suffix, so a standard advertiser's dotted label reads right too.
 */
export function parseService(fqdn: string, txt: unknown): LanEntry | { error: string } {
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
  if (!parsed.success) return { error: `TXT record without txtvers=1, contact and a Parley key (${parsed.error.issues[0]?.path.join('.')})` }
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
