import type { DhtQuery, DhtReply } from 'hyperdht'

/** One DHT node contacted during a lookup, in the order contacted. */
export interface TracedNode {
  seq: number
  /** Node id (hex) once it replied with one; null for nodes that never said. */
  id: string | null
  host: string
  port: number
  /** 1 for nodes taken from the routing table or bootstrap list, parent's hop + 1 otherwise. */
  hop: number
  /** `host:port` of the node whose reply named this one; null for hop 1. */
  parent: string | null
  rttMs: number | null
  outcome: 'ok' | 'error' | 'timeout'
  /** Announcement records this node returned for the target. */
  records: number
  closerNodes: number
}

export interface LookupTrace {
  target: string
  startedAt: string
  durationMs: number
  /** Hop of the first node that returned a record; null when none did. */
  hopsToFirstRecord: number | null
  nodes: TracedNode[]
  /** `lan`: answered by mDNS neighbours (the nodes are those neighbours), not by a DHT walk. */
  via?: 'lan' | 'dht'
}

interface QueryInternals {
  _seen: Map<string, unknown>
  _visit(to: { host: string; port: number; id?: Buffer | null }): void
  _onvisitbound(m: DhtReply, req: { to: { host: string; port: number } }): void
  _onerrorbound(err: { code?: string }, req: { to: { host: string; port: number } }): void
}

/**
 * Records every node a dht-rpc query visits by wrapping the query's visit hooks
 * (dht-rpc 6.x `Query._visit`, `_onvisitbound`, `_onerrorbound`). The referring
 * node comes from the query's `_seen` map, which holds the replies that named
 * each pending node. Must be attached before the query is first read.
 */
export class LookupTracer {
  readonly nodes: TracedNode[] = []
  private readonly started = performance.now()
  private readonly byAddr = new Map<string, { node: TracedNode; sentAt: number }>()

  constructor(
    query: DhtQuery,
    private readonly target: Buffer,
    private readonly now: () => number = () => performance.now()
  ) {
    const q = query as unknown as QueryInternals
    if (typeof q._visit !== 'function' || typeof q._onvisitbound !== 'function' || !(q._seen instanceof Map)) {
      throw new Error('dht-rpc query internals changed: lookup tracing needs an update')
    }
    const visit = q._visit.bind(q)
    const onvisit = q._onvisitbound
    const onerror = q._onerrorbound
    q._visit = (to) => {
      this.onVisit(to, q._seen.get(`${to.host}:${to.port}`))
      visit(to)
    }
    q._onvisitbound = (m, req) => {
      this.onReply(req.to, m)
      onvisit(m, req)
    }
    q._onerrorbound = (err, req) => {
      this.onError(req.to, err)
      onerror(err, req)
    }
  }

  finish(): LookupTrace {
    const withRecords = this.nodes.filter((n) => n.records > 0).map((n) => n.hop)
    return {
      target: this.target.toString('hex'),
      startedAt: new Date(Date.now() - (this.now() - this.started)).toISOString(),
      durationMs: Math.round(this.now() - this.started),
      hopsToFirstRecord: withRecords.length ? Math.min(...withRecords) : null,
      nodes: this.nodes
    }
  }

  /** Called by the consumer of the query for each mapped reply that carried records. */
  noteRecords(from: { host: string; port: number }, count: number): void {
    const entry = this.byAddr.get(`${from.host}:${from.port}`)
    if (entry) entry.node.records += count
  }

  private onVisit(to: { host: string; port: number }, refs: unknown): void {
    const addr = `${to.host}:${to.port}`
    const parentRef = Array.isArray(refs) ? (refs[0] as { host: string; port: number } | undefined) : undefined
    const parent = parentRef ? `${parentRef.host}:${parentRef.port}` : null
    const parentHop = parent ? this.byAddr.get(parent)?.node.hop : undefined
    const node: TracedNode = {
      seq: this.nodes.length,
      id: null,
      host: to.host,
      port: to.port,
      hop: parentHop === undefined ? 1 : parentHop + 1,
      parent,
      rttMs: null,
      outcome: 'timeout',
      records: 0,
      closerNodes: 0
    }
    this.nodes.push(node)
    this.byAddr.set(addr, { node, sentAt: this.now() })
  }

  private onReply(to: { host: string; port: number }, m: DhtReply): void {
    const entry = this.byAddr.get(`${to.host}:${to.port}`)
    if (!entry) return
    const { node, sentAt } = entry
    node.rttMs = Math.round((this.now() - sentAt) * 10) / 10
    node.id = m.from.id ? m.from.id.toString('hex') : null
    node.outcome = m.error === 0 || m.error === undefined ? 'ok' : 'error'
    node.closerNodes = m.closerNodes?.length ?? 0
  }

  private onError(to: { host: string; port: number }, err: { code?: string }): void {
    const entry = this.byAddr.get(`${to.host}:${to.port}`)
    if (!entry) return
    entry.node.outcome = err.code === 'REQUEST_TIMEOUT' ? 'timeout' : 'error'
  }
}
