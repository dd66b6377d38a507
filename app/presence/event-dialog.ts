import { newBranch, SipRequest, type SipMessage } from '../sip/message.js'
import { formatNameAddr, param, parseNameAddr, parseParams } from '../sip/header-values.js'

/**
 * One side of a subscription dialog (RFC 6665 §4.1.2 / §4.2.1, RFC 3261 §12):
 * what it takes to send the next in-dialog request. The subscriber and the
 * notifier each keep one.
 */
export interface EventDialog {
  callId: string
  localTag: string
  /** Null until the 2xx or the first NOTIFY names it (the subscriber's view). */
  remoteTag: string | null
  localUri: string
  remoteUri: string
  /** Where in-dialog requests go: the other side's Contact. */
  remoteTarget: string
  /** Route header values for in-dialog requests, in order. */
  routeSet: string[]
  localCseq: number
  /** The highest CSeq seen from the other side; lower ones are stale (§12.2.2). */
  remoteCseq: number
}

/** A route set longer than this is refused: nothing legitimate needs it, and each entry costs memory per dialog. */
export const MAX_ROUTE_SET = 16

export const EVENT_PACKAGE = 'presence'

/** `sip:USER@<our peer host>`: the Contact that brings in-dialog requests back to this peer. */
export function peerContact(aor: string, host: string): string {
  return `sip:${aor.slice(aor.indexOf(':') + 1, aor.lastIndexOf('@'))}@${host}`
}

/** Wait for `work` to settle, but no longer than `ms` (shutdown must not hang on an unreachable party). */
export async function settleWithin(work: Array<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.allSettled(work), new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

/** An in-dialog request (§12.2.1.1): Request-URI = remote target, Route = route set, tags, CSeq + 1. */
export function dialogRequest(d: EventDialog, method: 'SUBSCRIBE' | 'NOTIFY', viaHost: string, contact: string): SipRequest {
  const req = new SipRequest(method, d.remoteTarget)
  req.append('Via', `SIP/2.0/PARLEY ${viaHost};branch=${newBranch()}`)
  req.append('Max-Forwards', '70')
  for (const r of d.routeSet) req.append('Route', r)
  req.append('From', formatNameAddr({ displayName: null, uri: d.localUri, params: [['tag', d.localTag]] }))
  req.append('To', formatNameAddr({ displayName: null, uri: d.remoteUri, params: d.remoteTag ? [['tag', d.remoteTag]] : [] }))
  req.append('Call-ID', d.callId)
  req.append('CSeq', `${++d.localCseq} ${method}`)
  req.append('Contact', `<${contact}>`)
  req.append('Event', EVENT_PACKAGE)
  return req
}

export function tagOf(header: string | undefined): string | null {
  const na = parseNameAddr(header ?? '')
  return (na && param(na.params, 'tag')) || null
}

/** The Contact URI of a message, or null when absent or malformed. */
export function contactUri(msg: SipMessage): string | null {
  const values = msg.getAll('Contact')
  if (values.length !== 1) return null
  const na = parseNameAddr(values[0] as string)
  return na?.sipUri ? na.uri : null
}

/** The Record-Route values as Route entries (in order), or null when too many or malformed. */
export function recordRoutes(msg: SipMessage): string[] | null {
  const rr = msg.getAll('Record-Route')
  if (rr.length > MAX_ROUTE_SET) return null
  for (const r of rr) if (!parseNameAddr(r)?.sipUri) return null
  return rr
}

/** Expires (RFC 3261 §20.19): undefined when absent, null when not a delta-seconds. */
export function parseExpires(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (!/^\d{1,10}$/.test(text)) return null
  return Number(text)
}

/** The Event header's package (RFC 6665 §8.2.1), lower-cased, without parameters; null when absent. */
export function eventPackage(msg: SipMessage): string | null {
  const value = msg.get('Event')
  if (value === undefined) return null
  return (value.split(';')[0] ?? '').trim().toLowerCase()
}

export interface SubscriptionState {
  state: 'active' | 'pending' | 'terminated' | string
  expires: number | null
  reason: string | null
  retryAfter: number | null
}

/** Subscription-State (RFC 6665 §8.2.3); null when malformed. */
export function parseSubscriptionState(value: string | undefined): SubscriptionState | null {
  if (value === undefined) return null
  const semi = value.indexOf(';')
  const state = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  if (!/^[a-z0-9\-.!%*_+`'~]+$/.test(state)) return null
  const params = parseParams(semi === -1 ? '' : value.slice(semi))
  if (!params) return null
  const num = (name: string) => {
    const v = param(params, name)
    return typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : null
  }
  return { state, expires: num('expires'), reason: param(params, 'reason')?.toLowerCase() ?? null, retryAfter: num('retry-after') }
}
