import type { Logger } from 'pino'
import type { SipRequest, SipResponse } from '../message.js'
import { parseNameAddr, param, parseVia } from '../header-values.js'
import { ClientTransaction } from './client-transaction.js'
import { ServerTransaction } from './server-transaction.js'
import type { Destination } from './destination.js'
import { DEFAULT_SIP_TIMERS, type SipTimers } from './timers.js'

const MAGIC_COOKIE = 'z9hG4bK'

/** What an incoming request is to the transaction layer. */
export type ServerMatch =
  | { kind: 'new' }
  | { kind: 'retransmission'; tx: ServerTransaction }
  | { kind: 'ack'; tx: ServerTransaction }

/**
 * Creates and matches transactions (RFC 3261 §17.1.3, §17.2.3). Requests with
 * the RFC 3261 magic cookie match on branch, sent-by and method; older ones
 * (RFC 2543) on Request-URI, tags, Call-ID, CSeq and top Via. The table is
 * bounded: past `maxTransactions` new requests are refused by the caller.
 */
export class TransactionLayer {
  private readonly server = new Map<string, ServerTransaction>()
  private readonly client = new Map<string, ClientTransaction>()

  constructor(
    readonly timers: SipTimers = DEFAULT_SIP_TIMERS,
    private readonly log: Logger,
    readonly maxTransactions = 100_000
  ) {}

  get size(): { server: number; client: number } {
    return { server: this.server.size, client: this.client.size }
  }

  get full(): boolean {
    return this.server.size + this.client.size >= this.maxTransactions
  }

  matchServer(req: SipRequest): ServerMatch {
    if (req.method === 'ACK') {
      const tx = this.server.get(serverKey(req, 'INVITE'))
      return tx && sameRequest(tx.request, req) ? { kind: 'ack', tx } : { kind: 'new' }
    }
    const tx = this.server.get(serverKey(req, req.method))
    return tx && sameRequest(tx.request, req) ? { kind: 'retransmission', tx } : { kind: 'new' }
  }

  /** The INVITE server transaction a CANCEL refers to (§9.2). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    return this.server.get(serverKey(cancel, 'INVITE'))
  }

  createServer(req: SipRequest, destination: Destination): ServerTransaction {
    const key = serverKey(req, req.method)
    const tx = new ServerTransaction(key, req, destination, this.timers, (err) =>
      this.log.debug({ err: err.message, key }, 'response not delivered')
    )
    this.server.set(key, tx)
    tx.once('terminated', () => {
      if (this.server.get(key) === tx) this.server.delete(key)
    })
    return tx
  }

  /** A client transaction for `req`, whose top Via branch must be unique (we add it). */
  createClient(req: SipRequest, destination: Destination): ClientTransaction {
    const key = clientKey(req.topBranch ?? '', req.method)
    const tx = new ClientTransaction(key, req, destination, this.timers)
    this.client.set(key, tx)
    tx.once('terminated', () => {
      if (this.client.get(key) === tx) this.client.delete(key)
    })
    return tx
  }

  /** Route a response to its client transaction; false when none matches (§18.1.2: discard). */
  onResponse(res: SipResponse): boolean {
    const method = res.cseq?.method
    const branch = res.topBranch
    if (!method || !branch) return false
    const tx = this.client.get(clientKey(branch, method === 'ACK' ? 'INVITE' : method))
    if (!tx) return false
    tx.onResponse(res)
    return true
  }

  closeAll(): void {
    for (const tx of [...this.server.values()]) tx.terminate()
    for (const tx of [...this.client.values()]) tx.terminate()
  }
}

/**
 * A branch reused by a careless client (RFC 4475 reuses `z9hG4bKkdjuw` across
 * unrelated messages) must not turn a new request into a "retransmission":
 * the Call-ID and CSeq number have to agree too.
 */
function sameRequest(a: SipRequest, b: SipRequest): boolean {
  return a.callId === b.callId && a.cseq?.seq === b.cseq?.seq
}

function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`
}

function serverKey(req: SipRequest, method: string): string {
  const top = parseVia(req.getAll('Via')[0] ?? '')
  const branch = top?.branch ?? ''
  if (branch.startsWith(MAGIC_COOKIE)) {
    return `${branch}|${top?.host.toLowerCase()}:${top?.port ?? ''}|${method}`
  }
  // RFC 2543 matching (§17.2.3, last paragraph); ACK carries the To tag we added, so leave To out.
  const fromTag = param(parseNameAddr(req.get('From') ?? '')?.params ?? [], 'tag') ?? ''
  const toTag = method === 'INVITE' ? '' : (param(parseNameAddr(req.get('To') ?? '')?.params ?? [], 'tag') ?? '')
  return ['2543', req.uri, fromTag, toTag, req.callId ?? '', req.cseq?.seq ?? '', req.getAll('Via')[0] ?? '', method].join('|')
}
