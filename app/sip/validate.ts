import type { SipRequest, SipResponse } from './message.js'
import { parseCSeq, parseNameAddr, parseVia, splitList } from './header-values.js'
import { parseUri } from './uri.js'

export interface Rejection {
  status: number
  reason: string
}

// Headers that may appear once only (RFC 3261 §7.3.1: only list headers may repeat).
const SINGLE = ['To', 'From', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length', 'Content-Type']
const MANDATORY = ['To', 'From', 'CSeq', 'Call-ID', 'Via']

/**
 * Request validation a proxy or registrar does before anything else
 * (RFC 3261 §16.3 steps 1–2, §8.2.2): 505 for another SIP version, 400 for what
 * is not well formed, 416 for a Request-URI scheme we cannot route.
 * Max-Forwards and Proxy-Require are left to the proxy (§16.3 steps 3, 5).
 */
export function validateRequest(req: SipRequest): Rejection | null {
  if (req.version !== 'SIP/2.0') return { status: 505, reason: 'Version Not Supported' }
  if (req.defect) return bad(req.defect)
  for (const name of MANDATORY) if (req.count(name) === 0) return bad(`Missing ${name}`)
  for (const name of SINGLE) if (req.count(name) > 1) return bad(`More than one ${name}`)

  const cseq = parseCSeq(req.get('CSeq') ?? '')
  if (!cseq) return bad('Bad CSeq')
  if (cseq.method !== req.method) return bad('CSeq Method Mismatch')
  const mf = req.get('Max-Forwards')
  if (mf !== undefined && !/^\d{1,10}$/.test(mf)) return bad('Bad Max-Forwards')
  for (const via of req.getAll('Via')) if (!parseVia(via)) return bad('Bad Via')
  for (const name of ['From', 'To']) {
    if (!parseNameAddr(req.get(name) ?? '')) return bad(`Bad ${name}`)
  }
  for (const name of ['Contact', 'Route', 'Record-Route']) {
    const line = req.lines(name)
    for (const h of line) {
      const values = splitList(h.value)
      if (!values) return bad(`Bad ${name}`)
      for (const v of values) if (!(name === 'Contact' && v === '*') && !parseNameAddr(v)) return bad(`Bad ${name}`)
    }
  }

  const scheme = /^([A-Za-z][A-Za-z0-9+\-.]*):/.exec(req.uri)?.[1]?.toLowerCase()
  if (!scheme) return bad('Bad Request-URI')
  if (scheme !== 'sip' && scheme !== 'sips') return { status: 416, reason: 'Unsupported URI Scheme' }
  const uri = parseUri(req.uri)
  if (!uri) return bad('Bad Request-URI')
  // §19.1.5: headers make no sense in a Request-URI (RFC 4475 §3.1.2.11 allows 400).
  if (uri.headers !== null) return bad('Headers In Request-URI')
  return null
}

/** A response is usable when its status and top Via can be read (§18.1.2). */
export function validResponse(res: SipResponse): boolean {
  if (res.version !== 'SIP/2.0' || res.defect) return false
  const via = res.getAll('Via')[0]
  return via !== undefined && parseVia(via) !== null && parseCSeq(res.get('CSeq') ?? '') !== null
}

function bad(reason: string): Rejection {
  return { status: 400, reason: reason.replace(/[\r\n]/g, ' ').slice(0, 80) }
}
