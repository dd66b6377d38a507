import c from 'compact-encoding'
import type HyperDHT from 'hyperdht'
import { COMMANDS } from 'hyperdht/lib/constants.js'
import messages from 'hyperdht/lib/messages.js'
import { PLUGIN_NAME, PLUGIN_VERSION } from './mailbox-wire.js'

/**
 * The one place that touches HyperDHT's plugin mechanism and dht-rpc's raw
 * requests (hyperdht 6 / dht-rpc 6, like dht-role.ts): registering the mailbox
 * plugin, sending it requests, and finding the nodes closest to a target.
 */
export interface DhtAddress {
  host: string
  port: number
  id: Buffer | null
}

/** A request as dht-rpc hands it to a plugin; `token` is null unless the requester sent a valid one. */
export interface PluginCall {
  command: number
  value: Buffer | null
  target: Buffer | null
  token: Buffer | null
  from: DhtAddress
  reply(value: Buffer): void
}

export interface PluginReply {
  value: Buffer | null
  token: Buffer | null
  from: DhtAddress
}

interface RawRequest {
  from: DhtAddress
  token: Uint8Array | null
  target: Uint8Array | null
  reply(value: Uint8Array | null, opts?: { token?: boolean; closerNodes?: boolean }): void
}

interface Internals {
  id: Uint8Array | null
  plugins: Map<string, unknown>
  register(name: string, plugin: unknown): void
  request(
    req: { token: Uint8Array | null; command: number; target: Uint8Array; value: Uint8Array },
    to: { host: string; port: number },
    opts?: { retry?: boolean }
  ): Promise<{ error: number; value: Uint8Array | null; token: Uint8Array | null; from: DhtAddress }>
  findNode(target: Uint8Array): { finished(): Promise<void>; closestReplies: Array<{ from: DhtAddress }> }
}

const internals = (dht: HyperDHT) => dht as unknown as Internals

/** Serve the mailbox plugin on this DHT (answered only while the node is persistent). */
export function registerPlugin(dht: HyperDHT, onrequest: (call: PluginCall) => void): void {
  internals(dht).register(PLUGIN_NAME, {
    version: PLUGIN_VERSION,
    onregister() {},
    onpersistent() {},
    destroy() {},
    onrequest(plugreq: { command: number; value: Uint8Array | null }, req: RawRequest) {
      onrequest({
        command: plugreq.command,
        value: buf(plugreq.value),
        target: buf(req.target),
        token: buf(req.token),
        from: req.from,
        reply: (value) => req.reply(value)
      })
    }
  })
}

export function hasPlugin(dht: HyperDHT): boolean {
  return internals(dht).plugins.has(PLUGIN_NAME)
}

/** This node's routing id while persistent (null while ephemeral: others cannot route to it). */
export function nodeId(dht: HyperDHT): Buffer | null {
  return dht.ephemeral ? null : buf(internals(dht).id)
}

/**
 * Send one plugin request; resolves null when the node does not answer in
 * time or answers with an error (no plugin, a bad token, not persistent).
 * dht-rpc waits about a second per try: `retry: false` (probes) gives up after
 * one, otherwise it tries up to four times within `timeoutMs` — safe, as every
 * mailbox command is idempotent.
 */
export async function pluginRequest(
  dht: HyperDHT,
  to: { host: string; port: number },
  req: { token: Buffer | null; target: Buffer; command: number; value: Buffer },
  timeoutMs: number,
  opts: { retry?: boolean } = {}
): Promise<PluginReply | null> {
  if (dht.destroyed) return null
  const body = c.encode(messages.pluginRequest, { plugin: PLUGIN_NAME, version: PLUGIN_VERSION, command: req.command, value: req.value })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs)
  })
  const sent = internals(dht)
    .request({ token: req.token, command: COMMANDS.PLUGIN, target: req.target, value: body }, { host: to.host, port: to.port }, { retry: opts.retry ?? true })
    .then((res) => (res.error === 0 ? { value: buf(res.value), token: buf(res.token), from: res.from } : null))
    .catch(() => null)
  try {
    return await Promise.race([sent, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The persistent nodes closest to `target` that answered a routing query, closest first. */
export async function closestNodes(dht: HyperDHT, target: Buffer): Promise<DhtAddress[]> {
  const q = internals(dht).findNode(target)
  await q.finished()
  return q.closestReplies.map((r) => ({ host: r.from.host, port: r.from.port, id: buf(r.from.id) }))
}

function buf(bytes: Uint8Array | null | undefined): Buffer | null {
  if (!bytes) return null
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
