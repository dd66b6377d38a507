import { SipRequest, SipResponse, type SipMessage } from './message.js'
import { TOKEN } from './headers.js'

export class SipParseError extends Error {
  readonly code = 'SIP_PARSE'
}

const REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) (SIP\/\d+\.\d+)$/
const STATUS_LINE = /^(SIP\/\d+\.\d+) (\d{3}) ([^\r\n]*)$/

/**
 * Parse the start line and header section of a SIP message (RFC 3261 §7):
 * folded lines are unfolded (§7.3.1), header names must be tokens, values keep
 * their text for the grammar of each header to interpret later.
 */
export function parseHead(head: string): SipMessage {
  const lines = head.split('\r\n')
  const first = lines.shift() ?? ''
  let message: SipMessage
  const req = REQUEST_LINE.exec(first)
  const res = req ? null : STATUS_LINE.exec(first)
  if (req) message = new SipRequest(req[1] as string, req[2] as string, req[3])
  else if (res) message = new SipResponse(Number(res[2]), res[3] as string, res[1])
  else throw new SipParseError(`bad start line: ${JSON.stringify(first.slice(0, 80))}`)

  for (const line of lines) {
    if (line.length === 0) continue
    if (line[0] === ' ' || line[0] === '\t') {
      const last = message.headers.at(-1)
      if (!last) throw new SipParseError('continuation line before any header')
      last.value = `${last.value} ${line.trim()}`.trim()
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) throw new SipParseError(`header without a colon: ${JSON.stringify(line.slice(0, 80))}`)
    const name = line.slice(0, colon).replace(/[ \t]+$/, '')
    if (!TOKEN.test(name)) throw new SipParseError(`bad header name: ${JSON.stringify(name.slice(0, 80))}`)
    message.headers.push({ name, value: line.slice(colon + 1).trim() })
  }
  return message
}

/** Parse one whole message from a datagram or a framed stream chunk. */
export function parseSipMessage(data: Buffer): SipMessage {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) throw new SipParseError('no blank line after the headers')
  const message = parseHead(data.subarray(0, end).toString('utf8'))
  const declared = contentLength(message)
  const rest = data.subarray(end + 4)
  if (declared !== undefined && declared > rest.length) {
    throw new SipParseError(`Content-Length ${declared} exceeds the ${rest.length} bytes present`)
  }
  message.body = Buffer.from(declared === undefined ? rest : rest.subarray(0, declared))
  return message
}

/** The Content-Length header as a number, undefined when absent; throws when malformed. */
export function contentLength(message: SipMessage): number | undefined {
  const raw = message.get('Content-Length')
  if (raw === undefined) return undefined
  if (!/^\d{1,10}$/.test(raw)) throw new SipParseError(`bad Content-Length: ${JSON.stringify(raw.slice(0, 40))}`)
  return Number(raw)
}
