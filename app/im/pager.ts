import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { peerHost } from '../sip/proxy/local-addresses.js'
import type { Logger } from 'pino'
import { canonicalAor, type Aor } from '../identity/aor.js'
import type { ContactBook } from '../identity/contact-book.js'
import { errorCode } from '../errors.js'
import { createResponse, newBranch, newCallId, newTag, SipRequest, type SipResponse } from '../sip/message.js'
import type { TransactionOutcome } from '../sip/transaction/send-request.js'
import { formatNameAddr, parseNameAddr } from '../sip/header-values.js'
import type { SipFlow } from '../sip/transport.js'
import type { MessageStore, StoredMessage } from './message-store.js'

export const MAX_TEXT_BYTES = 64 * 1024

export interface LocalUser {
  aor: Aor
  displayName: string | null
  publicKey: Buffer
}

export interface SendResult {
  id: string
  to: Aor
  status: number
  reason: string
  /** The key the message went to, once one was chosen. */
  publicKey: string | null
  identity: 'pinned' | 'first-contact' | 'self' | null
  /** Other keys announcing the AOR besides the pinned one: possible impostors, not used. */
  impostors: string[]
  /** `stored`: the recipient was unreachable and its mailbox holders took the sealed letter. */
  delivery: 'direct' | 'stored' | 'failed'
  mailbox: { acks: number; holders: number; code: string | null } | null
}

/** Mails a text the recipient could not take live; throws NOT_STORED when its holders did not take it. */
export type MailText = (recipient: Buffer, sip: { callId: string; cseq: number }, text: string) => Promise<{ acks: number; asked: number }>

/** Final answers after which a message is mailed instead: the recipient is offline or did not answer. */
const MAIL_ON = new Set([408, 480])

export interface PagerDeps {
  user: LocalUser
  contacts: ContactBook
  store: MessageStore
  /** Send a request on a flow as a client transaction. */
  request: (flow: SipFlow, request: SipRequest) => Promise<TransactionOutcome>
  lookup: (aor: Aor) => Promise<Buffer[]>
  flowTo: (publicKey: Buffer) => Promise<SipFlow>
  /** A flow into this peer's own proxy, for AORs this peer announces (phones registered here). */
  loopback: () => SipFlow
  /** The mailbox, for recipients that cannot be reached (absent: no offline messages). */
  mail?: MailText
  /** A plain SIP phone advertises this AOR on the LAN (no key): the own proxy routes to it (docs/lan.md). */
  onLanPhone?: (aor: Aor) => boolean
  log: Logger
}


/**
 * Pager-mode instant messages (RFC 3428) between Parley users: find the
 * recipient on the overlay, check the key against the pinned one, send SIP
 * MESSAGE over the peer stream, and report the final status.
 */
export class Pager extends EventEmitter<{ received: [StoredMessage] }> {
  private cseq = 0
  private readonly callId = newCallId()

  constructor(private readonly deps: PagerDeps) {
    super()
  }

  async send(toInput: string, text: string): Promise<SendResult> {
    const to = canonicalAor(toInput)
    const { user, contacts, store, log } = this.deps
    const id = randomUUID()
    const request = this.buildRequest(to, text)
    const result = (status: number, reason: string, extra: Partial<SendResult> = {}): SendResult => ({
      id, to, status, reason, publicKey: null, identity: null, impostors: [],
      delivery: status >= 200 && status < 300 ? 'direct' : 'failed', mailbox: null, ...extra
    })
    const sip = { callId: request.callId ?? '', cseq: request.cseq?.seq ?? 0 }
    /** The live attempt failed with `status`: mail it to `key` instead, and say what happened. */
    const mailInstead = async (key: Buffer, status: number, reason: string, extra: Partial<SendResult>): Promise<SendResult> => {
      const keyHex = key.toString('hex')
      try {
        const stored = await this.deps.mail!(key, sip, text)
        await store.setStatus(id, 'stored', status, keyHex)
        return result(status, reason, { ...extra, publicKey: keyHex, delivery: 'stored', mailbox: { acks: stored.acks, holders: stored.asked, code: null } })
      } catch (err) {
        const details = (err as { details?: { code?: string; acks?: number; asked?: number } }).details
        log.warn({ to, err: (err as Error).message }, 'could not mail the message either')
        await store.setStatus(id, 'failed', status, keyHex)
        return result(status, reason, { ...extra, publicKey: keyHex, mailbox: { acks: details?.acks ?? 0, holders: details?.asked ?? 0, code: details?.code ?? errorCode(err) ?? 'ERROR' } })
      }
    }

    if (to === user.aor) {
      // A note to self never leaves this peer.
      const { response } = await this.receive(request, null, { self: true })
      return result(response.status, response.reason, { publicKey: user.publicKey.toString('hex'), identity: 'self' })
    }

    // Stored before the lookup, so the conversation shows it (sending, then delivered or failed) whatever happens.
    await store.add(this.record(id, 'out', request, text, null, null, 'sending'))
    const keys = await this.deps.lookup(to)
    if (keys.length === 0) {
      // Not on the overlay: a buddy whose key we know is offline, and gets it by mail.
      const pinned = contacts.get(to)?.publicKey
      if (pinned && this.deps.mail) return mailInstead(Buffer.from(pinned, 'hex'), 404, 'Not Found', { identity: 'pinned' })
      // Never for a pinned buddy's AOR: an unproven LAN advertisement does not get their messages.
      if (!pinned && this.deps.onLanPhone?.(to)) {
        const response = await this.exchange(this.deps.loopback(), request)
        await store.setStatus(id, response.status < 300 ? 'delivered' : 'failed', response.status, null)
        return result(response.status, response.reason)
      }
      await store.setStatus(id, 'failed', 404, null)
      return result(404, 'Not Found')
    }
    let pin
    try {
      pin = await contacts.resolve(to, keys) // throws IDENTITY_CHANGED / IDENTITY_AMBIGUOUS
    } catch (err) {
      await store.setStatus(id, 'failed', null, null)
      throw err
    }
    const target = { publicKey: pin.publicKey.toString('hex'), identity: pin.status, impostors: pin.others }
    if (pin.others.length) log.warn({ to, impostors: pin.others }, 'other keys announce this AOR; using the pinned one')
    let response: { status: number; reason: string }
    try {
      const flow = pin.publicKey.equals(user.publicKey) ? this.deps.loopback() : await this.deps.flowTo(pin.publicKey)
      response = await this.exchange(flow, request)
    } catch (err) {
      if (errorCode(err) !== 'PEER_UNREACHABLE') throw err
      log.info({ to, err: (err as Error).message }, 'recipient unreachable')
      response = { status: 480, reason: 'Temporarily Unavailable' }
    }
    const ok = response.status >= 200 && response.status < 300
    if (!ok && MAIL_ON.has(response.status) && this.deps.mail && !pin.publicKey.equals(user.publicKey)) {
      return mailInstead(pin.publicKey, response.status, response.reason, target)
    }
    await store.setStatus(id, ok ? 'delivered' : 'failed', response.status, target.publicKey)
    return result(response.status, response.reason, target)
  }

  /** The request's final answer on `flow`; no answer is 408, a transport failure 480. */
  private async exchange(flow: SipFlow, request: SipRequest): Promise<{ status: number; reason: string }> {
    const outcome = await this.deps.request(flow, request)
    if (outcome.kind === 'response') return { status: outcome.response.status, reason: outcome.response.reason }
    return outcome.kind === 'timeout' ? { status: 408, reason: 'Request Timeout' } : { status: 480, reason: 'Temporarily Unavailable' }
  }

  private buildRequest(to: Aor, text: string): SipRequest {
    const { user } = this.deps
    const req = new SipRequest('MESSAGE', to)
    req.append('Via', `SIP/2.0/PARLEY ${peerHost(user.publicKey)};branch=${newBranch()}`)
    req.append('Max-Forwards', '70')
    req.append('From', formatNameAddr({ displayName: user.displayName || null, uri: user.aor, params: [['tag', newTag()]] }))
    req.append('To', `<${to}>`)
    req.append('Call-ID', this.callId)
    req.append('CSeq', `${++this.cseq} MESSAGE`)
    req.append('Date', new Date().toUTCString())
    req.append('Content-Type', 'text/plain;charset=UTF-8')
    req.body = Buffer.from(text, 'utf8')
    return req
  }

  /**
   * A MESSAGE for one of our users arrived over `flow`: null when it came as a
   * UDP datagram (no flow, no key to check), or for a note to self with `self`.
   * `stored` is the new inbox entry; absent for refusals and retransmissions.
   */
  async receive(req: SipRequest, flow: SipFlow | null, origin: { self?: boolean } = {}): Promise<{ response: SipResponse; stored?: StoredMessage }> {
    const response = (status: number, reason?: string) => ({ response: createResponse(req, status, reason) })
    const { user, contacts, store } = this.deps
    let target: Aor
    try {
      target = canonicalAor(req.uri)
    } catch {
      return response(416)
    }
    if (target !== user.aor) return response(404)
    const from = parseNameAddr(req.get('From') ?? '')
    let fromAor: Aor
    try {
      fromAor = canonicalAor(from?.uri ?? '')
    } catch {
      return response(400, 'Bad From Header')
    }
    const contentType = (req.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase()
    if (contentType !== 'text/plain') {
      return { response: createResponse(req, 415).append('Accept', 'text/plain') }
    }
    if (req.body.length > MAX_TEXT_BYTES) return response(413)
    let text: string
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(req.body)
    } catch {
      return response(400, 'Body Is Not UTF-8')
    }
    const cseq = req.cseq
    if (!cseq) return response(400, 'Bad CSeq')

    const key = flow?.remotePublicKey?.toString('hex') ?? null
    const callId = req.callId ?? ''
    if (store.seen({ from: fromAor, callId, cseq: cseq.seq })) return response(200) // retransmission
    const pinned = contacts.get(fromAor)?.publicKey
    // Only our own note is 'self'; a phone's datagram carries no key, so it proves nothing, whatever its From says.
    const identity = origin.self ? 'self' : pinned === undefined ? 'unverified' : pinned === key ? 'pinned' : 'changed'
    const stored = { ...this.record(randomUUID(), 'in', req, text, key, identity, 'received'), from: fromAor, fromName: from?.displayName ?? null, to: target }
    await store.add(stored)
    this.emit('received', stored)
    return { ...response(200), stored }
  }

  private record(
    id: string,
    direction: 'in' | 'out',
    req: SipRequest,
    text: string,
    peerKey: string | null,
    identity: StoredMessage['identity'],
    status: StoredMessage['status']
  ): StoredMessage {
    const from = parseNameAddr(req.get('From') ?? '')
    return {
      kind: 'message',
      id,
      direction,
      from: from?.uri ?? '',
      fromName: from?.displayName ?? null,
      to: req.uri,
      contentType: 'text/plain',
      text,
      at: new Date().toISOString(),
      callId: req.callId ?? '',
      cseq: req.cseq?.seq ?? 0,
      peerKey,
      identity,
      status,
      sipStatus: null
    }
  }
}
