import { SipRequest, SipResponse, type SipMessage } from './message.js'
import { TOKEN } from './headers.js'

export class SipParseError extends Error {
  readonly code = 'SIP_PARSE'
}

const REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) (SIP\/\d+\.\d+)$/
// Tolerated only far enough to answer 400 (RFC 4475 §3.1.2.6–3.1.2.8): extra or trailing LWS.
const LOOSE_REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+(\S.*?)[ \t]+(SIP\/\S+)[ \t]*$/
const STATUS_LINE = /^(SIP\/\d+\.\d+) ([1-6]\d\d) ([^\r\n]*)$/

/**
 * Parse the start line and header section of a SIP message (RFC 3261 §7).
 * Folded lines are unfolded (§7.3.1); header values keep their text for the
 * per-header grammar in header-values.ts. A start line that cannot be read
 * throws (nothing can be answered); defects found after it are recorded in
 * `message.defect` so the core can answer 400 (§8.2.2, §16.3).
 */
export function parseHead(head: string): SipMessage {
  const lines = head.split('\r\n')
  const first = lines.shift() ?? ''
  let message: SipMessage
  const req = REQUEST_LINE.exec(first)
  const res = req ? null : STATUS_LINE.exec(first)
  const loose = req || res ? null : LOOSE_REQUEST_LINE.exec(first)
  if (req) message = new SipRequest(req[1] as string, req[2] as string, req[3])
  else if (res) message = new SipResponse(Number(res[2]), res[3] as string, res[1])
  else if (loose) {
    message = new SipRequest(loose[1] as string, (loose[2] as string).replace(/\s+/g, ''), loose[3])
    message.defect = 'malformed request line'
  } else throw new SipParseError(`bad start line: ${JSON.stringify(first.slice(0, 80))}`)

  for (const line of lines) {
    if (line.length === 0) continue
    if (line[0] === ' ' || line[0] === '\t') {
      const last = message.headers.at(-1)
      if (!last) throw new SipParseError('continuation line before any header')
      last.value = `${last.value} ${line.trim()}`.trim()
      continue
    }
    const colon = line.indexOf(':')
    const name = colon <= 0 ? '' : line.slice(0, colon).replace(/[ \t]+$/, '')
    if (!TOKEN.test(name)) {
      message.defect ??= `malformed header line: ${JSON.stringify(line.slice(0, 60))}`
      continue
    }
    message.headers.push({ name, value: line.slice(colon + 1).trim() })
  }
  return message
}

/**
 * Parse one whole message from a datagram (§18.3): the body is Content-Length
 * bytes, or the rest of the datagram when the header is absent; extra octets
 * after it are discarded. A Content-Length beyond the datagram is a defect.
 */
export function parseSipMessage(data: Buffer): SipMessage {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) throw new SipParseError('no blank line after the headers')
  const message = parseHead(data.subarray(0, end).toString('utf8'))
  const rest = data.subarray(end + 4)
  let declared: number | undefined
  try {
    declared = contentLength(message)
  } catch (err) {
    message.defect ??= (err as Error).message
  }
  if (declared !== undefined && declared > rest.length) {
    message.defect ??= `Content-Length ${declared} exceeds the ${rest.length} bytes present`
    declared = undefined
  }
  message.body = Buffer.from(declared === undefined ? rest : rest.subarray(0, declared))
  return message
}

/** The Content-Length header as a number, undefined when absent; throws when malformed. */
export function contentLength(message: SipMessage): number | undefined {
  if (message.count('Content-Length') > 1) throw new SipParseError('more than one Content-Length')
  const raw = message.get('Content-Length')
  if (raw === undefined) return undefined
  if (!/^\d{1,10}$/.test(raw)) throw new SipParseError(`bad Content-Length: ${JSON.stringify(raw.slice(0, 40))}`)
  return Number(raw)
}
