import { EventEmitter } from 'node:events'
import type { NoiseSecretStream } from 'hyperdht'
import type { Logger } from 'pino'
import { PeerUnreachableError } from '../errors.js'
import type { FramerLimits } from '../sip/stream-framer.js'
import type { OverlayNode } from './overlay-node.js'
import { PeerSipFlow } from './peer-sip-flow.js'

const MAX_ATTEMPTS = 2

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
    private readonly opts: { connectTimeoutMs: number; hedgeMs: number; limits?: FramerLimits }
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

  /**
   * Connect, hedged: a HyperDHT connect sometimes stalls (a handshake or a
   * findPeer reply lost on the way) although a fresh one would open at once.
   * So a second attempt starts after `hedgeMs`, or as soon as the first fails;
   * the first to open wins and the other is destroyed. An unreachable peer
   * still fails at `connectTimeoutMs`.
   */
  private dial(publicKey: Buffer): Promise<PeerSipFlow> {
    const hex = publicKey.toString('hex')
    const { connectTimeoutMs, hedgeMs } = this.opts
    const started = performance.now()
    const streams: NoiseSecretStream[] = []
    const errors: string[] = []
    let pending = 0
    return new Promise<PeerSipFlow>((resolve, reject) => {
      let settled = false
      const finish = (winner: PeerSipFlow | null, why: string) => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        clearTimeout(hedge)
        for (const s of streams) if (s !== winner?.stream) s.destroy()
        const ms = Math.round(performance.now() - started)
        if (winner) {
          if (errors.length || streams.length > 1) this.log.info({ peer: hex.slice(0, 16), attempts: streams.length, errors, ms }, 'peer stream opened on a second attempt')
          resolve(winner)
          return
        }
        this.log.warn({ peer: hex.slice(0, 16), attempts: streams.length, errors, ms }, 'peer unreachable')
        reject(new PeerUnreachableError(hex, why))
      }
      const attempt = () => {
        if (settled || streams.length >= MAX_ATTEMPTS) return
        const stream = this.overlay.connect(publicKey)
        streams.push(stream)
        let error = 'connection closed'
        stream.once('error', (err: Error & { code?: string }) => {
          error = err.code ?? err.message
        })
        const flow = this.adopt(stream)
        pending++
        void flow.opened.then((open) => {
          pending--
          if (open) return finish(flow, '')
          errors.push(error)
          if (streams.length < MAX_ATTEMPTS) {
            clearTimeout(hedge)
            attempt()
          } else if (pending === 0) finish(null, errors.join('; '))
        })
      }
      const deadline = setTimeout(() => finish(null, `no connection within ${connectTimeoutMs} ms${errors.length ? ` (${errors.join('; ')})` : ''}`), connectTimeoutMs)
      const hedge = setTimeout(attempt, hedgeMs)
      attempt()
    })
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
