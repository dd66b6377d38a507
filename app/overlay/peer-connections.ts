import { EventEmitter } from 'node:events'
import type { NoiseSecretStream } from 'hyperdht'
import type { Logger } from 'pino'
import { PeerUnreachableError } from '../errors.js'
import type { FramerLimits } from '../sip/stream-framer.js'
import type { OverlayNode } from './overlay-node.js'
import { PeerSipFlow } from './peer-sip-flow.js'

export interface PeerConnectionsEvents {
  flow: [PeerSipFlow]
}

/**
 * Encrypted streams to other peers, by public key. An open flow to a buddy is
 * reused for every later request (and incoming streams count too), so a chat
 * costs one DHT connect, not one per message.
 */
export class PeerConnections extends EventEmitter<PeerConnectionsEvents> {
  private readonly flows = new Map<string, Set<PeerSipFlow>>()
  private readonly dialing = new Map<string, Promise<PeerSipFlow>>()

  constructor(
    private readonly overlay: OverlayNode,
    private readonly log: Logger,
    private readonly opts: { connectTimeoutMs: number; limits?: FramerLimits }
  ) {
    super()
    overlay.on('connection', (stream) => this.adopt(stream))
  }

  get size(): number {
    let n = 0
    for (const set of this.flows.values()) n += set.size
    return n
  }

  /** An open SIP flow to `publicKey`, reusing one when it exists. */
  async flowTo(publicKey: Buffer): Promise<PeerSipFlow> {
    const hex = publicKey.toString('hex')
    for (const flow of this.flows.get(hex) ?? []) if (flow.open) return flow
    let dialing = this.dialing.get(hex)
    if (!dialing) {
      dialing = this.dial(publicKey).finally(() => this.dialing.delete(hex))
      this.dialing.set(hex, dialing)
    }
    return dialing
  }

  private async dial(publicKey: Buffer): Promise<PeerSipFlow> {
    const hex = publicKey.toString('hex')
    const stream = this.overlay.connect(publicKey)
    const flow = this.adopt(stream)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.opts.connectTimeoutMs)
    })
    let streamError = 'connection closed'
    stream.once('error', (err: Error & { code?: string }) => {
      streamError = err.code ?? err.message
    })
    const outcome = await Promise.race([flow.opened, timeout])
    clearTimeout(timer)
    if (outcome === true) return flow
    stream.destroy()
    throw new PeerUnreachableError(hex, outcome === 'timeout' ? `no connection within ${this.opts.connectTimeoutMs} ms` : streamError)
  }

  private adopt(stream: NoiseSecretStream): PeerSipFlow {
    stream.on('error', () => {}) // reported through the flow's close reason
    const flow = new PeerSipFlow(stream, this.log, this.opts.limits)
    const hex = flow.remotePublicKey.toString('hex')
    let set = this.flows.get(hex)
    if (!set) this.flows.set(hex, (set = new Set()))
    set.add(flow)
    flow.once('close', () => {
      set.delete(flow)
      if (set.size === 0 && this.flows.get(hex) === set) this.flows.delete(hex)
    })
    this.emit('flow', flow)
    return flow
  }

  /** Every open flow (for closing those that ran through a relay that died). */
  all(): PeerSipFlow[] {
    return [...this.flows.values()].flatMap((set) => [...set])
  }

  closeAll(): void {
    for (const set of this.flows.values()) for (const flow of set) flow.stream.destroy()
    this.flows.clear()
  }
}
