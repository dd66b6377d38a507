import type { NoiseSecretStream } from 'hyperdht'
import { openFrameChannel, type FrameChannel } from '../overlay/frame-channel.js'
import { z } from 'zod'

export const RELAY_PROTOCOL = 'parley/relay/v1'
const MAX_FRAME = 4096
const RATE_WINDOW_MS = 10_000
const RATE_MAX = 40
const REQUEST_TIMEOUT_MS = 5_000

const Id = z.number().int().nonnegative().max(2 ** 32)
const Request = z.discriminatedUnion('type', [
  z.object({ id: Id, type: z.literal('offer') }).strict(),
  z.object({ id: Id, type: z.literal('credentials'), callId: z.string().min(1).max(256) }).strict()
])
export type RelayRequest = z.infer<typeof Request>

/** What a super-node offers: how annoyed it is, how much room it has, where its TURN server is. */
export const RelayOffer = z.object({
  af: z.number().min(0).max(1),
  freeSlots: z.number().int().nonnegative(),
  capacity: z.number().int().nonnegative(),
  uptimeS: z.number().nonnegative(),
  turn: z.object({ host: z.string().max(64), port: z.number().int().min(1).max(65535) }).nullable(),
  blindRelay: z.boolean()
})
export type RelayOffer = z.infer<typeof RelayOffer>

export const TurnGrant = z.object({
  urls: z.array(z.string().max(128)).min(1).max(4),
  username: z.string().max(256),
  credential: z.string().max(256),
  expiresAt: z.number()
})
export type TurnGrant = z.infer<typeof TurnGrant>

/** Why a super-node would not take more work: the relay is full, stepping down, too annoyed, not one. */
export const RelayRefusal = z.object({
  code: z.enum(['NOT_SUPER_NODE', 'RELAY_FULL', 'AF_TOO_HIGH', 'STEPPING_DOWN', 'RATE_LIMITED', 'BAD_REQUEST']),
  reason: z.string().max(256)
})
export type RelayRefusal = z.infer<typeof RelayRefusal>

const Reply = z.union([
  z.object({ id: Id, ok: z.literal(true), offer: RelayOffer }).strict(),
  z.object({ id: Id, ok: z.literal(true), grant: TurnGrant }).strict(),
  z.object({ id: Id, ok: z.literal(false), refusal: RelayRefusal }).strict()
])
type Reply = z.infer<typeof Reply>

/** The super-node side: answers offer and credential requests from a peer. */
export interface RelayResponder {
  offer(remote: Buffer): RelayOffer | RelayRefusal
  credentials(remote: Buffer, callId: string): TurnGrant | RelayRefusal
}

export class RelayRequestError extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

/**
 * A request/response channel beside SIP on a peer stream, for relay offers and
 * TURN credentials. Credentials therefore only ever travel inside the Noise-encrypted
 * stream, to the peer that asked. Every frame from the other side is size-capped,
 * schema-checked and rate-limited; a bad one gets BAD_REQUEST, never a crash.
 */
export class RelayChannel {
  readonly opened: Promise<boolean>
  private readonly channel: FrameChannel
  private readonly pending = new Map<number, (reply: Reply | RelayRequestError) => void>()
  private nextId = 1
  private recent: number[] = []

  constructor(
    readonly stream: NoiseSecretStream,
    private readonly responder: () => RelayResponder | null
  ) {
    this.channel = openFrameChannel(stream, RELAY_PROTOCOL, { frame: (frame) => this.onFrame(frame), close: (reason) => this.failAll(reason) })
    this.opened = this.channel.opened
  }

  async offer(): Promise<RelayOffer> {
    const reply = await this.request({ type: 'offer' })
    if ('offer' in reply) return reply.offer
    throw refusalError(reply)
  }

  async credentials(callId: string): Promise<TurnGrant> {
    const reply = await this.request({ type: 'credentials', callId })
    if ('grant' in reply) return reply.grant
    throw refusalError(reply)
  }

  private async request(body: { type: 'offer' } | { type: 'credentials'; callId: string }): Promise<Reply> {
    if (!(await this.opened)) throw new RelayRequestError('UNREACHABLE', 'relay channel did not open')
    const id = this.nextId++
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => settle(new RelayRequestError('TIMEOUT', `no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS)
      const settle = (r: Reply | RelayRequestError) => {
        clearTimeout(timer)
        this.pending.delete(id)
        if (r instanceof RelayRequestError) reject(r)
        else resolve(r)
      }
      this.pending.set(id, settle)
      this.channel.send(Buffer.from(JSON.stringify({ id, ...body })))
    })
  }

  private onFrame(frame: Buffer): void {
    let value: unknown
    try {
      if (frame.length > MAX_FRAME) throw new Error('frame too large')
      value = JSON.parse(frame.toString('utf8'))
    } catch {
      return this.send({ id: 0, ok: false, refusal: { code: 'BAD_REQUEST', reason: 'not a relay frame' } })
    }
    const reply = Reply.safeParse(value)
    if (reply.success) {
      this.pending.get(reply.data.id)?.(reply.data)
      return
    }
    const request = Request.safeParse(value)
    if (!request.success) {
      const id = Id.safeParse((value as { id?: unknown } | null)?.id)
      return this.send({ id: id.success ? id.data : 0, ok: false, refusal: { code: 'BAD_REQUEST', reason: request.error.issues[0]?.message ?? 'invalid' } })
    }
    this.answer(request.data)
  }

  private answer(req: RelayRequest): void {
    const now = Date.now()
    this.recent = this.recent.filter((t) => now - t < RATE_WINDOW_MS)
    if (this.recent.length >= RATE_MAX) return this.send({ id: req.id, ok: false, refusal: { code: 'RATE_LIMITED', reason: 'too many relay requests' } })
    this.recent.push(now)
    const responder = this.responder()
    if (!responder) return this.send({ id: req.id, ok: false, refusal: { code: 'NOT_SUPER_NODE', reason: 'this node does not relay' } })
    const remote = this.stream.remotePublicKey
    const result = req.type === 'offer' ? responder.offer(remote) : responder.credentials(remote, req.callId)
    if ('code' in result) return this.send({ id: req.id, ok: false, refusal: result })
    this.send('urls' in result ? { id: req.id, ok: true, grant: result } : { id: req.id, ok: true, offer: result })
  }

  private send(reply: Reply): void {
    this.channel.send(Buffer.from(JSON.stringify(reply)))
  }

  private failAll(reason: string): void {
    for (const settle of [...this.pending.values()]) settle(new RelayRequestError('UNREACHABLE', reason))
  }
}

function refusalError(reply: Reply): RelayRequestError {
  if (!reply.ok) return new RelayRequestError(reply.refusal.code, reply.refusal.reason)
  return new RelayRequestError('BAD_REQUEST', 'unexpected answer')
}
