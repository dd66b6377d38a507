import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { headerKey } from '../headers.js'
import { createResponse, SipRequest, SipResponse, REASON_PHRASES } from '../message.js'
import { parseVia, parseNameAddr, param, splitList } from '../header-values.js'
import type { TransactionLayer } from '../transaction/transaction-layer.js'
import type { ServerTransaction } from '../transaction/server-transaction.js'
import { deliver, describe, type Destination } from '../transaction/destination.js'
import type { LocalAddresses } from './local-addresses.js'
import type { Target, TargetResolver } from './target-resolver.js'
import { bestResponse, type Branch } from './response-context.js'
import { loopHash } from './loop-hash.js'
import type { LocalHandler } from '../sip-core.js'

const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY'])
const DEFAULT_MAX_FORWARDS = 70
/** Timer C (§16.6 step 11): an INVITE branch with provisional responses but no final one. */
const TIMER_C_MS = 180_000

export interface ProxyDeps {
  layer: TransactionLayer
  addresses: LocalAddresses
  targets: TargetResolver
  /** Requests whose target is this peer's own user (the resolver's `local`). */
  local: LocalHandler
  log: Logger
}

interface Context {
  server: ServerTransaction
  request: SipRequest
  branches: Branch[]
  finished: boolean
  /** The inbound-facing Record-Route URI, for double record-routing (RFC 5658). */
  inbound: Destination
}

/**
 * A stateful proxy (RFC 3261 §16): request validation beyond syntax (Max-Forwards,
 * loops, Proxy-Require), target determination, forwarding with Via, Max-Forwards
 * and Record-Route, response selection and forwarding, CANCEL.
 */
export class Proxy {
  private readonly contexts = new Map<ServerTransaction, Context>()

  constructor(private readonly deps: ProxyDeps) {}

  /** §16.3 steps 3–5 (syntax, scheme and Route preprocessing are done by the caller). */
  check(req: SipRequest): SipResponse | null {
    const mf = req.get('Max-Forwards')
    if (mf !== undefined && Number(mf) === 0) return createResponse(req, 483)
    if (this.isLoop(req)) return createResponse(req, 482)
    const required = req.getAll('Proxy-Require')
    if (required.length) return createResponse(req, 420).append('Unsupported', required.join(', '))
    return null
  }

  async route(server: ServerTransaction, req: SipRequest, inbound: Destination): Promise<void> {
    const rejected = this.check(req)
    if (rejected) return server.respond(rejected)
    if (req.method === 'INVITE') server.respond(createResponse(req, 100))

    let targets: Target[]
    const route = req.getAll('Route')[0]
    if (route !== undefined) {
      // Loose routing (§16.12): the next hop is the top Route; the Request-URI stays.
      const uri = parseNameAddr(route)?.uri
      const dest = uri ? await this.deps.targets.nextHop(uri) : null
      if (!dest) return server.respond(createResponse(req, 404, 'Route Not Reachable'))
      targets = [{ uri: req.uri, dest }]
    } else {
      const inDialog = param(parseNameAddr(req.get('To') ?? '')?.params ?? [], 'tag') != null
      const resolution = await this.deps.targets.resolve(req.uri, { inDialog, method: req.method })
      if (resolution.kind === 'reject') return server.respond(createResponse(req, resolution.status, resolution.reason))
      if (resolution.kind === 'local') return server.respond(await this.deps.local(req, inbound.kind === 'flow' ? inbound.flow : null, resolution.aor))
      targets = resolution.targets
    }
    if (server.state === 'terminated') return
    const ctx: Context = { server, request: req, branches: [], finished: false, inbound }
    this.contexts.set(server, ctx)
    server.once('terminated', () => this.contexts.delete(server))
    for (const target of targets) this.fork(ctx, target)
  }

  /** CANCEL of an INVITE we are proxying (§16.10). */
  cancel(invite: ServerTransaction): void {
    const ctx = this.contexts.get(invite)
    if (!ctx) return
    for (const b of ctx.branches) this.cancelBranch(ctx, b)
  }

  /** Forward an ACK for a 2xx (or any request outside a transaction) statelessly (§16.11). */
  async forwardStateless(req: SipRequest): Promise<void> {
    if (this.check(req)) return
    const route = req.getAll('Route')[0]
    let dest: Destination | null
    if (route !== undefined) {
      const uri = parseNameAddr(route)?.uri
      dest = uri ? await this.deps.targets.nextHop(uri) : null
    } else {
      const r = await this.deps.targets.resolve(req.uri, { inDialog: true })
      dest = r.kind === 'targets' ? (r.targets[0]?.dest ?? null) : null
    }
    if (!dest) return
    const fwd = this.copyForForward(req, { uri: req.uri, dest }, `z9hG4bK${loopHash(req)}.${randomBytes(4).toString('hex')}`, null)
    await deliver(dest, fwd).catch((err: Error) => this.deps.log.debug({ err: err.message }, 'stateless forward failed'))
  }

  /** A response that matched no transaction: forward it statelessly if its top Via is ours (§16.7 / §18.1.2). */
  async forwardResponseStateless(res: SipResponse, destFor: (via: string) => Promise<Destination | null>): Promise<void> {
    const vias = res.getAll('Via')
    const top = parseVia(vias[0] ?? '')
    if (!top || !this.deps.addresses.isUs(top.host, top.port) || vias.length < 2 || res.status === 100) return
    const fwd = this.stripTopVia(res)
    const dest = await destFor(vias[1] as string)
    if (dest) await deliver(dest, fwd).catch(() => {})
  }

  private fork(ctx: Context, target: Target): void {
    const branchId = `z9hG4bK${loopHash(ctx.request)}.${randomBytes(4).toString('hex')}`
    const fwd = this.copyForForward(ctx.request, target, branchId, ctx.inbound)
    const tx = this.deps.layer.createClient(fwd, target.dest)
    const branch: Branch = { tx, final: null, failure: null, provisional: false, cancelPending: false, cancelled: false }
    ctx.branches.push(branch)
    let timerC: NodeJS.Timeout | null = null
    const armTimerC = () => {
      if (fwd.method !== 'INVITE') return
      if (timerC) clearTimeout(timerC)
      timerC = setTimeout(() => this.cancelBranch(ctx, branch), TIMER_C_MS)
      timerC.unref()
    }
    tx.on('response', (res) => {
      if (res.status < 200) {
        branch.provisional = true
        armTimerC()
        if (branch.cancelPending) this.cancelBranch(ctx, branch)
        if (res.status > 100 && !ctx.finished) ctx.server.respond(this.stripTopVia(res))
        return
      }
      if (timerC) clearTimeout(timerC)
      branch.final = res
      this.onFinal(ctx, res)
    })
    tx.on('timeout', () => this.onFailure(ctx, branch, 408))
    tx.on('transport-error', (err) => {
      this.deps.log.info({ dest: describe(target.dest), err: err.message }, 'forwarding failed')
      this.onFailure(ctx, branch, 503)
    })
    tx.once('terminated', () => {
      if (timerC) clearTimeout(timerC)
    })
    armTimerC()
    tx.start()
  }

  private onFailure(ctx: Context, branch: Branch, status: number): void {
    if (branch.final || branch.failure) return
    branch.failure = status
    this.maybeFinish(ctx)
  }

  private onFinal(ctx: Context, res: SipResponse): void {
    const klass = Math.floor(res.status / 100)
    if (klass === 2) {
      // Every 2xx goes upstream at once (§16.7 step 5); other branches of an INVITE are cancelled.
      ctx.server.respond(this.stripTopVia(res))
      ctx.finished = true
      if (ctx.request.method === 'INVITE') for (const b of ctx.branches) this.cancelBranch(ctx, b)
      return
    }
    if (klass === 6) for (const b of ctx.branches) this.cancelBranch(ctx, b)
    this.maybeFinish(ctx)
  }

  private maybeFinish(ctx: Context): void {
    if (ctx.finished || ctx.branches.some((b) => !b.final && !b.failure)) return
    ctx.finished = true
    const best = bestResponse(ctx.branches)
    const response = best.response ? this.stripTopVia(best.response) : createResponse(ctx.request, best.status, REASON_PHRASES[best.status])
    if (best.response && best.status === 500 && best.response.status === 503) {
      response.status = 500
      response.reason = 'Server Internal Error'
    }
    ctx.server.respond(response)
  }

  private cancelBranch(ctx: Context, branch: Branch): void {
    if (branch.cancelled || branch.final || branch.failure || ctx.request.method !== 'INVITE') return
    if (!branch.provisional) {
      branch.cancelPending = true // §9.1: a CANCEL may only follow a provisional response
      return
    }
    branch.cancelled = true
    const invite = branch.tx.request
    const cancel = new SipRequest('CANCEL', invite.uri)
    const via = invite.getAll('Via')[0]
    if (via) cancel.append('Via', via)
    for (const name of ['Max-Forwards', 'From', 'To', 'Call-ID']) {
      const v = invite.get(name)
      if (v !== undefined) cancel.append(name, v)
    }
    cancel.append('CSeq', `${invite.cseq?.seq ?? 0} CANCEL`)
    for (const r of invite.lines('Route')) cancel.append('Route', r.value)
    const tx = this.deps.layer.createClient(cancel, branch.tx.destination)
    tx.start()
  }

  /** The copy sent to one target (§16.6): new Request-URI, Max-Forwards − 1, Record-Route, our Via. */
  private copyForForward(req: SipRequest, target: Target, branchId: string, inbound: Destination | null): SipRequest {
    const fwd = new SipRequest(req.method, target.uri, req.version)
    fwd.headers = req.headers.map((h) => ({ ...h }))
    fwd.body = req.body
    const mf = req.get('Max-Forwards')
    fwd.set('Max-Forwards', String(mf === undefined ? DEFAULT_MAX_FORWARDS : Math.min(Number(mf), 255) - 1))
    if (DIALOG_CREATING.has(req.method) && inbound) {
      const out = this.deps.addresses.recordRouteFor(target.dest)
      const into = this.deps.addresses.recordRouteFor(inbound)
      const rr = out === into ? [`<${out}>`] : [`<${out}>`, `<${into}>`]
      fwd.headers.unshift(...rr.map((value) => ({ name: 'Record-Route', value })))
    }
    const via = this.deps.addresses.viaFor(target.dest)
    fwd.headers.unshift({ name: 'Via', value: `SIP/2.0/${via.transport} ${via.sentBy};branch=${branchId}` })
    return fwd
  }

  private stripTopVia(res: SipResponse): SipResponse {
    const out = new SipResponse(res.status, res.reason, res.version)
    out.headers = res.headers.map((h) => ({ ...h }))
    out.body = res.body
    const i = out.headers.findIndex((h) => headerKey(h.name) === 'via')
    if (i !== -1) {
      const h = out.headers[i] as { name: string; value: string }
      const rest = (splitList(h.value) ?? []).slice(1)
      if (rest.length === 0) out.headers.splice(i, 1)
      else h.value = rest.join(', ')
    }
    return out
  }

  private isLoop(req: SipRequest): boolean {
    const hash = loopHash(req)
    for (const value of req.getAll('Via')) {
      const via = parseVia(value)
      if (via && this.deps.addresses.isUs(via.host, via.port) && via.branch?.startsWith(`z9hG4bK${hash}.`)) return true
    }
    return false
  }
}
