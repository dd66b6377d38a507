/** RFC 3261 §7.3.3 and later RFCs: compact header forms and their full names. */
export const COMPACT_FORMS: Record<string, string> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity'
}

const CANONICAL = new Map(
  [
    ...Object.values(COMPACT_FORMS),
    'CSeq', 'Max-Forwards', 'Allow', 'Accept', 'Date', 'Expires', 'Route', 'Record-Route',
    'User-Agent', 'Server', 'WWW-Authenticate', 'Authorization', 'Proxy-Authenticate',
    'Proxy-Authorization', 'Proxy-Require', 'Require', 'Unsupported', 'Min-Expires', 'Warning'
  ].map((name) => [name.toLowerCase(), name])
)

const KEY_CACHE = new Map<string, string>()
const KEY_CACHE_MAX = 4096

/** The key under which a header is looked up: full name, lower case. Memoised: it runs for every header access. */
export function headerKey(name: string): string {
  let key = KEY_CACHE.get(name)
  if (key === undefined) {
    const lower = name.toLowerCase()
    key = (COMPACT_FORMS[lower] ?? lower).toLowerCase()
    // Bounded, since header names come from the network.
    if (KEY_CACHE.size < KEY_CACHE_MAX) KEY_CACHE.set(name, key)
  }
  return key
}

/** The conventional spelling of a header name, for messages we create. */
export function canonicalHeaderName(name: string): string {
  return CANONICAL.get(headerKey(name)) ?? name
}

// RFC 3261 §25.1 token characters
export const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/
