import { createHash } from 'node:crypto'
import type { SipRequest } from '../message.js'
import { param, parseNameAddr } from '../header-values.js'

/**
 * The part of our branch parameter that identifies a request for loop detection
 * (RFC 3261 §16.6 step 8, §16.3 step 4): a hash over the fields that stay the
 * same when a request comes back to us in a loop and change when it is
 * legitimately spiralled (Request-URI, tags, Call-ID, CSeq, Proxy-Require,
 * Proxy-Authorization, Route). The top Via is left out: in a loop it is the
 * previous hop's, so including it would hide every loop.
 */
export function loopHash(req: SipRequest): string {
  const h = createHash('sha256')
  const tag = (name: string) => param(parseNameAddr(req.get(name) ?? '')?.params ?? [], 'tag') ?? ''
  for (const part of [
    req.uri,
    tag('From'),
    tag('To'),
    req.callId ?? '',
    String(req.cseq?.seq ?? ''),
    req.getAll('Proxy-Require').join(','),
    req.getAll('Proxy-Authorization').join(','),
    req.getAll('Route').join(',')
  ]) {
    h.update(part)
    h.update('\0')
  }
  return h.digest('base64url').slice(0, 16)
}
