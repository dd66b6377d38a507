import type { Logger } from 'pino'
import { headerKey } from './headers.js'
import { createResponse, SipRequest, SipResponse, type SipMessage } from './message.js'
import { parseNameAddr, parseVia } from './header-values.js'
import { validateRequest, validResponse } from './validate.js'
import { parseUri, hostKey } from './uri.js'
import type { SipFlow, SipSource, SipTransport } from './transport.js'
import { TransactionLayer } from './transaction/transaction-layer.js'
import type { ServerTransaction } from './transaction/server-transaction.js'
import { deliver, type Destination } from './transaction/destination.js'
import type { LocalAddresses } from './proxy/local-addresses.js'
import { peerKeyOf } from './proxy/local-addresses.js'
import { Proxy } from './proxy/proxy.js'
import type { TargetResolver } from './proxy/target-resolver.js'
import type { Registrar } from '../registrar/registrar.js'
import type { Aor } from '../identity/aor.js'

/** Requests for this peer's own user(s): the pager for MESSAGE today, the UI later. */
export type LocalHandler = (req: SipRequest, flow: SipFlow | null, aor: Aor) => Promise<SipResponse>

export interface SipCoreDeps {
  layer: TransactionLayer
  addresses: LocalAddresses
  targets: TargetResolver
  registrar: Registrar | null
  /** Whether REGISTERs for this (lower-case) domain are ours to answer, besides our own addresses. */
  registrarDomains: (host: string) => boolean
  local: LocalHandler
  /** For responses leaving on a peer stream (the next Via names a peer host). */
  flowTo: (publicKey: Buffer) => Promise<SipFlow>
  /** The peer's health for OPTIONS addressed to the element itself (monitoring, `parley check`); must be cheap. */
  health?: () => PeerHealth
  log: Logger
}

/** What a peer tells an OPTIONS ping about itself: the body of its 200 (`HEALTH_CONTENT_TYPE`). */
export interface PeerHealth {
  role: 'client' | 'super-node' | 'stepping-down'
  /** AORs with a live binding in this peer's registrar. */
  registrations: number
  /** The annoyance score af(), 0..1 (docs/relay.md). */
  af: number
  uptimeS: number
}

export const HEALTH_CONTENT_TYPE = 'application/vnd.parley.health+json'

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, PRACK, UPDATE'

/**
 * The SIP element of a peer: every transport (UDP, TCP, WS, peer streams) feeds
 * it; it validates, matches transactions, and hands requests to the registrar,
 * the proxy or the local user.
 */
export class SipCore {
  readonly proxy: Proxy
  private readonly transports: SipTransport[] = []
  /** Counters since start; `invites`: new INVITE transactions (calls and re-INVITEs), proxied or answered here. */
  stats = { requests: 0, responses: 0, rejected: 0, dropped: 0, invites: 0 }

  constructor(private readonly deps: SipCoreDeps) {
    this.proxy = new Proxy({ layer: deps.layer, addresses: deps.addresses, targets: deps.targets, local: deps.local, log: deps.log })
  }

  attachTransport(t: SipTransport): void {
    this.transports.push(t)
    t.on('message', (m, src) => this.receive(m, src, t))
    t.on('malformed', () => this.stats.dropped++)
  }

  attachFlow(flow: SipFlow): void {
    flow.on('message', (m) => this.receive(m, { transport: flow.transport, host: flow.remoteHost ?? '', port: flow.remotePort ?? 0, flow }))
  }

  receive(message: SipMessage, source: SipSource, transport?: SipTransport): void {
    this.handle(message, source, transport).catch((err: Error) => this.deps.log.error({ err }, 'SIP message handling failed'))
  }

  private async handle(message: SipMessage, source: SipSource, transport?: SipTransport): Promise<void> {
    if (message instanceof SipResponse) {
      this.stats.responses++
      if (!validResponse(message)) return void this.stats.dropped++
      if (!this.deps.layer.onResponse(message)) await this.proxy.forwardResponseStateless(message, (via) => this.responseDestination(via))
      return
    }
    const req = message as SipRequest
    this.stats.requests++
    const dest = replyDestination(source, transport)
    if (!dest) return void this.stats.dropped++
    const rejection = validateRequest(req)
    if (rejection) {
      this.stats.rejected++
      // §18.2.2: a response needs a Via to follow; without one the request is dropped.
      if (req.method !== 'ACK' && req.getAll('Via').length) await this.sendStateless(createResponse(req, rejection.status, rejection.reason), dest)
      return
    }
    if (!source.flow || source.flow.transport !== 'PARLEY') markReceived(req, source)

    const match = this.deps.layer.matchServer(req)
    if (match.kind === 'ack') return match.tx.onAck(req)
    if (match.kind === 'retransmission') return match.tx.onRetransmission()
    if (req.method === 'ACK') {
      this.preprocessRoute(req)
      if (!this.isForUs(req)) await this.proxy.forwardStateless(req)
      return
    }
    if (this.deps.layer.full) return this.sendStateless(createResponse(req, 503, 'Overloaded').append('Retry-After', '5'), dest)

    const tx = this.deps.layer.createServer(req, dest)
    if (req.method === 'INVITE') this.stats.invites++
    if (req.method === 'CANCEL') return this.onCancel(req, tx)
    this.preprocessRoute(req)
    const routed = req.getAll('Route').length > 0
    if (!routed && req.method === 'REGISTER' && this.deps.registrar && this.servesDomain(req.uri)) {
      return tx.respond(this.deps.registrar.handle(req, dest))
    }
    if (!routed && this.isForUs(req)) return tx.respond(this.answerHere(req))
    await this.proxy.route(tx, req, dest)
  }

  private onCancel(cancel: SipRequest, tx: ServerTransaction): void {
    const invite = this.deps.layer.inviteFor(cancel)
    if (!invite) return tx.respond(createResponse(cancel, 481))
    tx.respond(createResponse(cancel, 200))
    this.proxy.cancel(invite)
  }

  /**
   * §16.4: drop Route entries naming us (two with double record-routing), and
   * undo a strict router's rewrite when the Request-URI is one of our Record-Routes.
   */
  private preprocessRoute(req: SipRequest): void {
    const ruri = parseUri(req.uri)
    const routes = req.getAll('Route')
    if (ruri && ruri.user === null && this.deps.addresses.isUsUri(ruri) && routes.length) {
      req.uri = parseNameAddr(routes[routes.length - 1] as string)?.uri ?? req.uri
      setRoutes(req, routes.slice(0, -1))
    }
    let list = req.getAll('Route')
    while (list.length) {
      const uri = parseNameAddr(list[0] as string)?.sipUri
      if (!uri || !this.deps.addresses.isUsUri(uri)) break
      list = list.slice(1)
    }
    if (list.length !== req.getAll('Route').length) setRoutes(req, list)
  }

  /** A request addressed to this element itself (no user part), e.g. OPTIONS pings. */
  private isForUs(req: SipRequest): boolean {
    const uri = parseUri(req.uri)
    return uri !== null && uri.user === null && this.deps.addresses.isUsUri(uri)
  }

  private servesDomain(ruriText: string): boolean {
    const uri = parseUri(ruriText)
    if (!uri) return false
    return this.deps.addresses.isUsUri(uri) || this.deps.registrarDomains(hostKey(uri.host))
  }

  private answerHere(req: SipRequest): SipResponse {
    if (req.method === 'OPTIONS') {
      const res = createResponse(req, 200).append('Allow', ALLOW).append('Accept', 'application/sdp, text/plain').append('Supported', 'path')
      // §11.2: an OPTIONS 200 may carry a body; ours is the element's health for monitors.
      const health = this.deps.health?.()
      if (health) {
        res.append('Content-Type', HEALTH_CONTENT_TYPE)
        res.body = Buffer.from(JSON.stringify(health))
      }
      return res
    }
    if (req.method === 'REGISTER') return createResponse(req, 404, 'Not A Registrar Here')
    return createResponse(req, 405).append('Allow', ALLOW)
  }

  private async sendStateless(res: SipResponse, dest: Destination): Promise<void> {
    await deliver(dest, res).catch((err: Error) => this.deps.log.debug({ err: err.message }, 'stateless response not sent'))
  }

  /** Where a response goes next, from the Via below ours (§18.2.2 with RFC 3581). */
  private async responseDestination(viaText: string): Promise<Destination | null> {
    const via = parseVia(viaText)
    if (!via) return null
    const key = peerKeyOf(via.host)
    if (key) return { kind: 'flow', flow: await this.deps.flowTo(key) }
    const transport = this.transports.find((t) => t.name === via.transport)
    if (!transport) return null
    const host = via.received ?? via.host.replace(/^\[|\]$/g, '')
    const port = typeof via.rport === 'number' ? via.rport : (via.port ?? 5060)
    return { kind: 'address', transport, host, port }
  }
}

/**
 * Responses go back where the request came from: its flow, or its source
 * address and port (symmetric response routing, as RFC 3581 `rport` asks, so
 * phones behind NAT get their answers).
 */
function replyDestination(source: SipSource, transport: SipTransport | undefined): Destination | null {
  if (source.flow) return { kind: 'flow', flow: source.flow }
  return transport ? { kind: 'address', transport, host: source.host, port: source.port } : null
}

function setRoutes(req: SipRequest, routes: string[]): void {
  req.remove('Route')
  const at = req.headers.findIndex((h) => headerKey(h.name) !== 'via')
  req.headers.splice(at === -1 ? req.headers.length : at, 0, ...routes.map((value) => ({ name: 'Route', value })))
}

/** §18.2.1 and RFC 3581: note the source address in the top Via. */
function markReceived(req: SipRequest, source: SipSource): void {
  const i = req.headers.findIndex((h) => headerKey(h.name) === 'via')
  if (i === -1 || !source.host) return
  const h = req.headers[i] as { name: string; value: string }
  const first = h.value.split(',')[0] as string
  const via = parseVia(first)
  if (!via) return
  let updated = first
  if (via.host.replace(/^\[|\]$/g, '') !== source.host && via.received === null) updated += `;received=${source.host}`
  if (via.rport === true) updated = updated.replace(/;\s*rport(?=;|$)/i, `;rport=${source.port}`)
  if (updated !== first) h.value = updated + h.value.slice(first.length)
}
