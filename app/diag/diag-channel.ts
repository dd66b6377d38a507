import type { NoiseSecretStream } from 'hyperdht'
import { z } from 'zod'
import { DiagReport, DiagSection, LogLevel, LogLevelChange } from '../api/contract.js'
import { ParleyError } from '../errors.js'
import { openFrameChannel, type FrameChannel } from '../overlay/frame-channel.js'

export const DIAG_PROTOCOL = 'parley/diag/v1'
/** Requests are a few dozen bytes; anything larger from the other side is refused unread. */
export const MAX_REQUEST_FRAME = 1024
/** Replies carry a routing table and up to 1,024 neighbours; only read while we wait for one. */
export const MAX_REPLY_FRAME = 1024 * 1024
const RATE_WINDOW_MS = 10_000
const RATE_MAX = 20
const REQUEST_TIMEOUT_MS = 10_000

/** 0 is the id of answers to frames whose id could not be read. */
const Id = z.number().int().min(1).max(2 ** 32)
const DiagRequest = z.discriminatedUnion('type', [
  z.object({ id: Id, type: z.literal('report'), section: DiagSection }).strict(),
  /** Without `level`: read it. */
  z.object({ id: Id, type: z.literal('log-level'), level: LogLevel.optional() }).strict()
])
export type DiagRequest = z.infer<typeof DiagRequest>
type DiagRequestBody = { type: 'report'; section: DiagSection } | { type: 'log-level'; level?: LogLevel }

export const DiagErrorCode = z.enum(['NOT_ALLOWED', 'BAD_REQUEST', 'RATE_LIMITED', 'UNAVAILABLE'])
export type DiagErrorCode = z.infer<typeof DiagErrorCode>

const ReplyId = z.number().int().min(0).max(2 ** 32)
const DiagReply = z.union([
  z.object({ id: ReplyId, ok: z.literal(true), report: DiagReport }).strict(),
  z.object({ id: ReplyId, ok: z.literal(true), logLevel: LogLevelChange }).strict(),
  z.object({ id: ReplyId, ok: z.literal(false), error: z.object({ code: DiagErrorCode, reason: z.string().max(256) }).strict() }).strict()
])
type DiagReply = z.infer<typeof DiagReply>

/** What a node tells the keys its owner allowed; `allowed` is asked before anything else is. */
export interface DiagResponder {
  allowed(remote: Buffer): boolean
  report(section: DiagSection): Promise<DiagReport>
  logLevel(level?: LogLevel): LogLevelChange
}

/**
 * Diagnostics beside SIP on an encrypted peer stream: JSON requests and replies
 * in Protomux messages. The asker is the stream's remote public key, proven by
 * the Noise handshake; only keys the owner allowed get anything but an error.
 * Every frame from the other side is size-capped, schema-checked and
 * rate-limited; a bad one gets BAD_REQUEST, never a crash (docs/diagnostics.md).
 */
export class DiagChannel {
  /** When the stream was adopted, which is when it opened. */
  readonly since = new Date()
  private readonly channel: FrameChannel
  private readonly pending = new Map<number, (reply: DiagReply | ParleyError) => void>()
  private nextId = 1
  /** Times of the answers given in the current rate window, oldest first. */
  private recent: number[] = []
  private limited = false

  constructor(
    readonly stream: NoiseSecretStream,
    private readonly responder: () => DiagResponder | null
  ) {
    this.channel = openFrameChannel(stream, DIAG_PROTOCOL, { frame: (frame) => this.onFrame(frame), close: (reason) => this.failAll(reason) })
  }

  async report(section: DiagSection): Promise<DiagReport> {
    const reply = await this.request({ type: 'report', section })
    if ('report' in reply) return reply.report
    throw unexpected()
  }

  async logLevel(level?: LogLevel): Promise<LogLevelChange> {
    const reply = await this.request(level === undefined ? { type: 'log-level' } : { type: 'log-level', level })
    if ('logLevel' in reply) return reply.logLevel
    throw unexpected()
  }

  /** One request; rejects with the other side's error code, or UNREACHABLE / TIMEOUT. */
  private request(body: DiagRequestBody): Promise<DiagReply & { ok: true }> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => settle(new ParleyError('TIMEOUT', `no diagnostics answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS)
      const settle = (r: DiagReply | ParleyError) => {
        clearTimeout(timer)
        this.pending.delete(id)
        if (r instanceof ParleyError) reject(r)
        else if (!r.ok) reject(new ParleyError(r.error.code, `the peer refused: ${r.error.reason}`))
        else resolve(r)
      }
      this.pending.set(id, settle)
      void this.channel.opened.then((open) => {
        if (!open) settle(new ParleyError('UNREACHABLE', 'the peer does not serve diagnostics'))
        else if (this.pending.has(id)) this.channel.send(Buffer.from(JSON.stringify({ id, ...body })))
      })
    })
  }

  private onFrame(frame: Buffer): void {
    // Only a reply we wait for may be large; anything else that size is refused unread.
    if (frame.length > (this.pending.size ? MAX_REPLY_FRAME : MAX_REQUEST_FRAME)) return this.refuse(0, 'BAD_REQUEST', 'frame too large')
    let value: unknown
    try {
      value = JSON.parse(frame.toString('utf8'))
    } catch {
      return this.refuse(0, 'BAD_REQUEST', 'not a diagnostics frame')
    }
    if (isReply(value)) return this.onReply(value)
    if (frame.length > MAX_REQUEST_FRAME) return this.refuse(0, 'BAD_REQUEST', 'request too large')
    const request = DiagRequest.safeParse(value)
    if (!request.success) {
      const id = Id.safeParse((value as { id?: unknown } | null)?.id)
      const issue = request.error.issues[0]
      return this.refuse(id.success ? id.data : 0, 'BAD_REQUEST', `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`)
    }
    void this.answer(request.data)
  }

  /** A reply to one of ours (never answered, so two channels cannot ping-pong); unknown ids are dropped. */
  private onReply(value: { id: unknown }): void {
    const settle = typeof value.id === 'number' ? this.pending.get(value.id) : undefined
    if (!settle) return
    const reply = DiagReply.safeParse(value)
    settle(reply.success ? reply.data : new ParleyError('BAD_REPLY', 'the peer answered with a malformed diagnostics reply'))
  }

  private async answer(req: DiagRequest): Promise<void> {
    if (!this.admit(req.id)) return
    const responder = this.responder()
    // Before anything else: a key not allowed learns nothing but this code.
    if (!responder?.allowed(this.stream.remotePublicKey)) return this.send({ id: req.id, ok: false, error: { code: 'NOT_ALLOWED', reason: 'this key may not read diagnostics here' } })
    try {
      if (req.type === 'report') this.send({ id: req.id, ok: true, report: await responder.report(req.section) })
      else this.send({ id: req.id, ok: true, logLevel: responder.logLevel(req.level) })
    } catch {
      this.send({ id: req.id, ok: false, error: { code: 'UNAVAILABLE', reason: 'diagnostics could not be gathered' } })
    }
  }

  private refuse(id: number, code: DiagErrorCode, reason: string): void {
    if (this.admit(id)) this.send({ id, ok: false, error: { code, reason: reason.slice(0, 256) } })
  }

  /** A rate limit on everything the other side makes us answer: past it, one RATE_LIMITED, then silence until the window moves on. */
  private admit(id: number): boolean {
    const now = Date.now()
    while (this.recent.length && now - this.recent[0]! >= RATE_WINDOW_MS) this.recent.shift()
    if (this.recent.length < RATE_MAX) {
      this.recent.push(now)
      this.limited = false
      return true
    }
    if (!this.limited) this.send({ id, ok: false, error: { code: 'RATE_LIMITED', reason: `more than ${RATE_MAX} requests in ${RATE_WINDOW_MS / 1000} s` } })
    this.limited = true
    return false
  }

  private send(reply: DiagReply): void {
    this.channel.send(Buffer.from(JSON.stringify(reply)))
  }

  private failAll(reason: string): void {
    for (const settle of [...this.pending.values()]) settle(new ParleyError('UNREACHABLE', reason))
  }
}

function isReply(value: unknown): value is { id: unknown; ok: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'ok' in value
}

function unexpected(): ParleyError {
  return new ParleyError('BAD_REPLY', 'the peer answered a different question')
}
