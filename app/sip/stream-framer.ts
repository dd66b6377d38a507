import { EventEmitter } from 'node:events'
import type { SipMessage } from './message.js'
import { contentLength, parseHead, SipParseError } from './parser.js'

export interface FramerLimits {
  /** Largest start line plus headers accepted, in bytes. */
  maxHeadBytes: number
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number
}

export const DEFAULT_LIMITS: FramerLimits = { maxHeadBytes: 16 * 1024, maxBodyBytes: 256 * 1024 }

const CRLFCRLF = Buffer.from('\r\n\r\n')

export interface SipStreamFramerEvents {
  message: [SipMessage]
  error: [SipParseError]
}

/**
 * Cuts a byte stream into SIP messages (RFC 3261 §18.3): headers end at the
 * first blank line, the body is exactly Content-Length bytes, which is mandatory
 * on streams. CRLF keep-alives between messages (RFC 5626 §4.4.1) are skipped.
 * After the first error the framer stops: the stream can no longer be trusted
 * to be in sync, so its owner closes it.
 */
export class SipStreamFramer extends EventEmitter<SipStreamFramerEvents> {
  private buffer = Buffer.alloc(0)
  private pending: { message: SipMessage; length: number } | null = null
  private failed = false

  constructor(private readonly limits: FramerLimits = DEFAULT_LIMITS) {
    super()
  }

  push(chunk: Uint8Array): void {
    if (this.failed) return
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk])
    const complete: SipMessage[] = []
    let error: SipParseError | null = null
    try {
      this.drain(complete)
    } catch (err) {
      this.failed = true
      this.buffer = Buffer.alloc(0)
      error = err instanceof SipParseError ? err : new SipParseError(String(err))
    }
    // Emit outside the try: a listener's exception is not a framing error.
    for (const message of complete) this.emit('message', message)
    if (error) this.emit('error', error)
  }

  private drain(complete: SipMessage[]): void {
    for (;;) {
      if (this.pending === null) {
        let skip = 0
        while (skip + 1 < this.buffer.length && this.buffer[skip] === 13 && this.buffer[skip + 1] === 10) skip += 2
        if (skip > 0) this.buffer = this.buffer.subarray(skip)
        const end = this.buffer.indexOf(CRLFCRLF)
        if (end === -1) {
          if (this.buffer.length > this.limits.maxHeadBytes) {
            throw new SipParseError(`headers exceed ${this.limits.maxHeadBytes} bytes`)
          }
          return
        }
        if (end > this.limits.maxHeadBytes) throw new SipParseError(`headers exceed ${this.limits.maxHeadBytes} bytes`)
        const message = parseHead(this.buffer.subarray(0, end).toString('utf8'))
        const length = contentLength(message)
        if (length === undefined) throw new SipParseError('Content-Length is required on stream transports (RFC 3261 §18.3)')
        if (length > this.limits.maxBodyBytes) throw new SipParseError(`body of ${length} bytes exceeds ${this.limits.maxBodyBytes}`)
        this.pending = { message, length }
        this.buffer = this.buffer.subarray(end + 4)
      }
      const { message, length } = this.pending
      if (this.buffer.length < length) return
      message.body = Buffer.from(this.buffer.subarray(0, length))
      this.buffer = this.buffer.subarray(length)
      this.pending = null
      complete.push(message)
    }
  }
}
