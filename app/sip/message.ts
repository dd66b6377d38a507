import { randomBytes } from 'node:crypto'
import { canonicalHeaderName, headerKey } from './headers.js'
import { parseCSeq, parseVia, splitList } from './header-values.js'

export interface SipHeader {
  /** The name as received or written; lookups go through headerKey(). */
  name: string
  value: string
}

/** Headers and body shared by requests and responses (RFC 3261 §7). */
export abstract class SipMessage {
  headers: SipHeader[] = []
  body: Buffer = Buffer.alloc(0)
  /** Set by the parser when the message was framed but is not well formed; the core answers 400. */
  defect: string | null = null

  abstract startLine(): string

  get(name: string): string | undefined {
    const key = headerKey(name)
    return this.headers.find((h) => headerKey(h.name) === key)?.value
  }

  /** Every value of a header, splitting comma-separated lists (§7.3.1) outside quotes and <>. */
  getAll(name: string): string[] {
    const key = headerKey(name)
    return this.headers
      .filter((h) => headerKey(h.name) === key)
      .flatMap((h) => splitList(h.value) ?? [h.value])
      .filter((v) => v.length > 0)
  }

  /** The header lines carrying this header (full or compact name, any case). */
  lines(name: string): SipHeader[] {
    const key = headerKey(name)
    return this.headers.filter((h) => headerKey(h.name) === key)
  }

  /** How many header lines carry this header. */
  count(name: string): number {
    const key = headerKey(name)
    let n = 0
    for (const h of this.headers) if (headerKey(h.name) === key) n++
    return n
  }

  set(name: string, value: string): this {
    const key = headerKey(name)
    const at = this.headers.findIndex((h) => headerKey(h.name) === key)
    this.headers = this.headers.filter((h) => headerKey(h.name) !== key)
    this.headers.splice(at === -1 ? this.headers.length : at, 0, { name: canonicalHeaderName(name), value })
    return this
  }

  append(name: string, value: string): this {
    this.headers.push({ name: canonicalHeaderName(name), value })
    return this
  }

  remove(name: string): this {
    const key = headerKey(name)
    this.headers = this.headers.filter((h) => headerKey(h.name) !== key)
    return this
  }

  get callId(): string | undefined {
    return this.get('Call-ID')
  }

  get cseq(): { seq: number; method: string } | undefined {
    return parseCSeq(this.get('CSeq') ?? '') ?? undefined
  }

  /** The branch parameter of the top Via (RFC 3261 §8.1.1.7). */
  get topBranch(): string | undefined {
    const via = this.getAll('Via')[0]
    return (via && parseVia(via)?.branch) || undefined
  }

  /** Wire form; Content-Length always states the body's byte length (§20.14). */
  serialize(): Buffer {
    this.set('Content-Length', String(this.body.length))
    const head = [this.startLine(), ...this.headers.map((h) => `${h.name}: ${h.value}`)].join('\r\n')
    return Buffer.concat([Buffer.from(head + '\r\n\r\n', 'utf8'), this.body])
  }
}

export class SipRequest extends SipMessage {
  constructor(
    public method: string,
    public uri: string,
    public version = 'SIP/2.0'
  ) {
    super()
  }

  startLine(): string {
    return `${this.method} ${this.uri} ${this.version}`
  }
}

export class SipResponse extends SipMessage {
  constructor(
    public status: number,
    public reason: string,
    public version = 'SIP/2.0'
  ) {
    super()
  }

  startLine(): string {
    return `${this.version} ${this.status} ${this.reason}`
  }
}

export const REASON_PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  513: 'Message Too Large'
}

/**
 * A response to `request` per RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq
 * copied; a To tag added when the request had none and this is not a 100.
 */
export function createResponse(request: SipRequest, status: number, reason = REASON_PHRASES[status] ?? 'Unknown'): SipResponse {
  const response = new SipResponse(status, reason)
  for (const h of request.headers) {
    const key = headerKey(h.name)
    if (key === 'via' || key === 'from' || key === 'call-id' || key === 'cseq') response.headers.push({ ...h })
    if (key === 'to') {
      const tagged = status !== 100 && !/;\s*tag=/i.test(h.value) ? `${h.value};tag=${newTag()}` : h.value
      response.headers.push({ name: h.name, value: tagged })
    }
  }
  return response
}

// Tags and Call-IDs need to be unique, not secret (§19.3): a random prefix and a counter.
const TAG_PREFIX = randomBytes(4).toString('hex')
let tagCounter = 0

export function newTag(): string {
  return `${TAG_PREFIX}${(++tagCounter).toString(36)}`
}

/** A branch with the RFC 3261 magic cookie (§8.1.1.7). */
export function newBranch(): string {
  return 'z9hG4bK' + randomBytes(10).toString('hex')
}

export function newCallId(): string {
  return randomBytes(16).toString('hex')
}
