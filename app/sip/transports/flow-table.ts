import type { SipFlow } from '../transport.js'
import { addressKey, sourceKey } from './source-address.js'

export interface ConnectionLimits {
  /** Open connections at most, both directions together; new inbound ones beyond are refused. */
  maxConnections: number
  /** Open connections at most from one source (IPv4 address or IPv6 /64). */
  maxConnectionsPerSource: number
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 1024, maxConnectionsPerSource: 64 }

/**
 * The open flows of a connection-oriented transport, by remote address, so a
 * request to an address reuses a connection that is already there in either
 * direction (RFC 3261 §18.1.1, §18.2.2). Flows leave the table when they close,
 * so it never holds more than the connection limit.
 */
export class FlowTable<F extends SipFlow> {
  private readonly flows = new Set<F>()
  private readonly byAddress = new Map<string, Set<F>>()
  private readonly perSource = new Map<string, number>()

  constructor(readonly limits: ConnectionLimits) {}

  get size(): number {
    return this.flows.size
  }

  all(): F[] {
    return [...this.flows]
  }

  /** Why a new inbound connection from `host` must be refused, or null to admit it; `pending` counts handshakes under way. */
  refusal(host: string, pending = 0): string | null {
    if (this.flows.size + pending >= this.limits.maxConnections) return `${this.limits.maxConnections} connections open`
    if ((this.perSource.get(sourceKey(host)) ?? 0) >= this.limits.maxConnectionsPerSource) {
      return `${this.limits.maxConnectionsPerSource} connections open from this source`
    }
    return null
  }

  /** Indexes `flow` under its remote address and any `aliases` (address keys it was dialled as). */
  add(flow: F, aliases: string[] = []): void {
    if (!flow.open) return
    const keys = new Set([addressKey(flow.remoteHost ?? '', flow.remotePort ?? 0), ...aliases])
    const source = sourceKey(flow.remoteHost ?? '')
    this.flows.add(flow)
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1)
    for (const key of keys) {
      let set = this.byAddress.get(key)
      if (!set) this.byAddress.set(key, (set = new Set()))
      set.add(flow)
    }
    flow.once('close', () => {
      if (!this.flows.delete(flow)) return
      const left = (this.perSource.get(source) ?? 1) - 1
      if (left > 0) this.perSource.set(source, left)
      else this.perSource.delete(source)
      for (const key of keys) {
        const set = this.byAddress.get(key)
        set?.delete(flow)
        if (set?.size === 0) this.byAddress.delete(key)
      }
    })
  }

  /** The most recently opened flow to host:port that is still open. */
  find(host: string, port: number): F | undefined {
    let found: F | undefined
    for (const flow of this.byAddress.get(addressKey(host, port)) ?? []) if (flow.open) found = flow
    return found
  }
}
