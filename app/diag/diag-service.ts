import type { PeerConnections } from '../overlay/peer-connections.js'
import type { PeerSipFlow } from '../overlay/peer-sip-flow.js'
import { ParleyError } from '../errors.js'
import { DiagChannel, type DiagResponder } from './diag-channel.js'

/** An open peer stream as the diagnostics see it. */
export interface OpenStream {
  publicKey: Buffer
  address: string | null
  direction: 'in' | 'out'
  since: Date
}

/**
 * The diagnostics channel on every peer stream of one peer: it answers the
 * keys its owner allowed (through the responder the UI contract installs;
 * until then, and without one, every asker gets NOT_ALLOWED) and asks others.
 */
export class DiagService {
  private readonly channels = new WeakMap<object, DiagChannel>()
  private responder: DiagResponder | null = null
  private connections: PeerConnections | null = null

  /** Put the channel on every stream `connections` has now and will adopt. */
  follow(connections: PeerConnections): void {
    this.connections = connections
    for (const flow of connections.all()) this.attach(flow)
    connections.on('flow', (flow) => this.attach(flow))
  }

  /** Who answers requests from other peers; null refuses them all. */
  serve(responder: DiagResponder | null): void {
    this.responder = responder
  }

  attach(flow: PeerSipFlow): DiagChannel {
    let channel = this.channels.get(flow.stream)
    if (!channel) {
      channel = new DiagChannel(flow.stream, () => this.responder)
      this.channels.set(flow.stream, channel)
    }
    return channel
  }

  /** The channel to the peer holding `publicKey`, over its existing stream or a new one. */
  async channelTo(publicKey: Buffer): Promise<DiagChannel> {
    if (!this.connections) throw ParleyError.CLOSED()
    return this.attach(await this.connections.flowTo(publicKey))
  }

  /** The peer streams open now: who, from where, which side dialled, since when. */
  streams(): OpenStream[] {
    return (this.connections?.all() ?? [])
      .filter((flow) => flow.open)
      .map((flow) => {
        const raw = flow.stream.rawStream
        const initiator = (flow.stream as unknown as { isInitiator?: boolean }).isInitiator
        return {
          publicKey: flow.remotePublicKey,
          address: raw?.remoteHost ? `${raw.remoteHost}:${raw.remotePort}` : null,
          direction: initiator ? 'out' : 'in',
          since: this.attach(flow).since
        }
      })
  }
}
