import type HyperDHT from 'hyperdht'
import { closestNodes, nodeId, pluginRequest, type DhtAddress } from './dht-plugin.js'
import { Command, decode, probeReply } from './mailbox-wire.js'

/** A super-node that answered a PROBE for a mailbox: where it is, its token for our writes, what it holds. */
export interface Holder {
  node: DhtAddress
  token: Buffer
  held: number
  digest: Buffer
  distance: Buffer
}

export interface HolderSet {
  mailbox: Buffer
  /** Responsive holders, closest to the mailbox id first. */
  holders: Holder[]
  /** Our own distance when this node is a persistent super-node (null otherwise). */
  selfDistance: Buffer | null
  probed: number
  at: number
}

export interface FindOptions {
  /** How many responsive holders are wanted (the replication factor, or more for fallbacks). */
  want: number
  /** How long a silent node (no plugin, gone) is waited for. */
  probeTimeoutMs?: number
}

/** dht-rpc gives up on a silent node after ~1 s per try; a probe makes one try. */
export const PROBE_TIMEOUT_MS = 1000

/**
 * The responsive super-nodes closest to a mailbox id: a routing query for the id
 * (the persistent nodes closest to it, as the DHT sees them), then a PROBE to each
 * candidate in distance order, all at once. Done as soon as the `want` closest
 * responsive ones are known — a silent candidate (not a Parley super-node, or just
 * killed) only delays the answer when it would have been among them.
 */
export async function findHolders(dht: HyperDHT, mailbox: Buffer, opts: FindOptions): Promise<HolderSet> {
  const self = nodeId(dht)
  const candidates = (await closestNodes(dht, mailbox))
    .filter((n) => n.id && !(self && n.id.equals(self)))
    .map((node) => ({ node, distance: xor(node.id!, mailbox) }))
    .sort((a, b) => Buffer.compare(a.distance, b.distance))
  const results: Array<Holder | null | undefined> = candidates.map(() => undefined)
  const timeoutMs = opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS
  await new Promise<void>((resolve) => {
    const settled = () => {
      let responsive = 0
      for (const r of results) {
        if (r === undefined) return false
        if (r && ++responsive >= opts.want) return true
      }
      return true
    }
    if (settled()) return resolve()
    candidates.forEach(({ node, distance }, i) => {
      void pluginRequest(dht, node, { token: null, target: mailbox, command: Command.PROBE, value: Buffer.alloc(0) }, timeoutMs, { retry: false }).then((reply) => {
        const probe = decode(probeReply, reply?.value)
        results[i] = reply?.token && probe?.status === 'OK' ? { node, token: reply.token, held: probe.held, digest: probe.digest, distance } : null
        if (settled()) resolve()
      })
    })
  })
  return {
    mailbox,
    holders: results.filter((r): r is Holder => !!r).slice(0, opts.want),
    selfDistance: self ? xor(self, mailbox) : null,
    probed: candidates.length,
    at: Date.now()
  }
}

/** Would this node be among the `r` closest holders of the mailbox? */
export function isResponsible(set: HolderSet, r: number): boolean {
  if (!set.selfDistance) return false
  const closer = set.holders.filter((h) => Buffer.compare(h.distance, set.selfDistance!) < 0).length
  return closer < r
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(32)
  for (let i = 0; i < 32; i++) out[i] = a[i]! ^ b[i]!
  return out
}
