import { Resolver } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { SipUri } from '../uri.js'
import { uriTransport } from './local-addresses.js'
import type { HostTarget } from './target-resolver.js'

const NAPTR_SERVICES: Record<string, string> = { 'SIP+D2U': 'UDP', 'SIP+D2T': 'TCP', 'SIPS+D2T': 'TLS', 'SIP+D2W': 'WS' }
const SRV_PREFIX: Record<string, string> = { UDP: '_sip._udp', TCP: '_sip._tcp', TLS: '_sips._tcp', WS: '_sip._ws' }

/**
 * RFC 3263 §4 server location: with an explicit port or an IP, A/AAAA only;
 * with a transport parameter, SRV for it; otherwise NAPTR, then SRV for each
 * transport, then A with port 5060 over UDP. SRV targets are ordered by
 * priority, then weight (heaviest first: a simplification of RFC 2782's
 * weighted random choice).
 */
export function dnsResolveHost(resolver: Resolver = new Resolver({ timeout: 2000, tries: 2 })) {
  return async (uri: SipUri): Promise<HostTarget[]> => {
    const host = uri.host.replace(/^\[|\]$/g, '')
    const explicit = uri.params.some(([n]) => n.toLowerCase() === 'transport')
    const transport = uriTransport(uri)
    if (isIP(host)) return [{ transport, host, port: uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060) }]
    if (uri.port !== null) return (await addresses(resolver, host)).map((a) => ({ transport, host: a, port: uri.port as number }))

    const candidates: string[] = []
    if (explicit) candidates.push(transport)
    else {
      const naptr = await resolver.resolveNaptr(host).catch(() => [])
      for (const r of naptr.sort((a, b) => a.order - b.order || a.preference - b.preference)) {
        const t = NAPTR_SERVICES[r.service.toUpperCase()]
        if (t && r.flags.toLowerCase() === 's') candidates.push(t)
      }
      if (!candidates.length) candidates.push(...(uri.scheme === 'sips' ? ['TLS'] : ['UDP', 'TCP']))
    }
    for (const t of candidates) {
      const prefix = SRV_PREFIX[t]
      if (!prefix) continue
      const srv = await resolver.resolveSrv(`${prefix}.${host}`).catch(() => [])
      const out: HostTarget[] = []
      for (const s of srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight)) {
        for (const a of await addresses(resolver, s.name)) out.push({ transport: t, host: a, port: s.port })
      }
      if (out.length) return out
    }
    const fallback = explicit ? transport : uri.scheme === 'sips' ? 'TLS' : 'UDP'
    return (await addresses(resolver, host)).map((a) => ({ transport: fallback, host: a, port: uri.scheme === 'sips' ? 5061 : 5060 }))
  }
}

async function addresses(resolver: Resolver, host: string): Promise<string[]> {
  const v4 = await resolver.resolve4(host).catch(() => [] as string[])
  if (v4.length) return v4
  return resolver.resolve6(host).catch(() => [] as string[])
}
