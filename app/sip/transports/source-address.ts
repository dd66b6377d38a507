import { isIPv6 } from 'node:net'

/**
 * The address as flows and logs show it: IPv4-mapped IPv6 addresses (a dual-stack
 * socket's view of an IPv4 peer) become plain IPv4, zone ids are dropped, IPv6
 * is lower-cased.
 */
export function normalizeHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase()
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bare)
  return mapped ? (mapped[1] as string) : bare
}

/** One key per (host, port), brackets around IPv6 as in a SIP sent-by (RFC 3261 §19.1.1). */
export function addressKey(host: string, port: number): string {
  const h = normalizeHost(host)
  return isIPv6(h) ? `[${h}]:${port}` : `${h}:${port}`
}

/**
 * Who is charged for traffic: the IPv4 address, or the /64 prefix of an IPv6
 * address, since one subscriber usually holds a whole /64 and could otherwise
 * rotate through addresses to escape a per-address limit.
 */
export function sourceKey(host: string): string {
  const h = normalizeHost(host)
  if (!isIPv6(h)) return h
  const [head = '', tail] = h.split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? front : [...front, ...new Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64'
}
