import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { canonicalAor, type Aor } from './identity/aor.js'
import { loadOrCreateIdentity, type Identity } from './identity/identity-store.js'
import { ContactBook } from './identity/contact-book.js'
import { OverlayNode, type LookupResult, type OverlayState } from './overlay/overlay-node.js'
import { PeerConnections } from './overlay/peer-connections.js'
import type { PeerSipFlow } from './overlay/peer-sip-flow.js'
import { ClientTransactions } from './sip/client-transactions.js'
import { createResponse, SipRequest, SipResponse, type SipMessage } from './sip/message.js'
import type { FramerLimits } from './sip/stream-framer.js'
import { MessageStore, type StoredMessage } from './im/message-store.js'
import { Pager, type SendResult } from './im/pager.js'
import { silentLogger } from './log.js'
import { ParleyError } from './errors.js'

export interface PeerTimers {
  /** RFC 3261 Timer F: how long a non-INVITE request waits for a final response. */
  timerFMs: number
  connectTimeoutMs: number
  registrationRefreshMs: number
  registrationRetryMs: number
  rejoinMs: number
}

export interface PeerOptions {
  dataDir: string
  aor?: string
  displayName?: string
  /** HOST:PORT list; undefined means the public HyperDHT bootstrap nodes. */
  bootstrap?: string[]
  dhtHost?: string
  dhtPort?: number
  log?: Logger
  timers?: Partial<PeerTimers>
  limits?: FramerLimits
}

export const DEFAULT_TIMERS: PeerTimers = {
  timerFMs: 32_000, // 64 × T1 (RFC 3261 §17.1.2.2)
  connectTimeoutMs: 15_000,
  registrationRefreshMs: 10 * 60_000,
  registrationRetryMs: 5_000,
  rejoinMs: 30_000
}

export interface PeerStatus {
  aor: Aor
  displayName: string | null
  publicKey: string
  fingerprint: string
  role: 'peer' | 'dht-node'
  overlay: { state: OverlayState; dhtAddress: string | null; routingTableSize: number; firewalled: boolean }
  connections: number
  registrations: Array<{ aor: Aor; state: string; lastAnnouncedAt: string | null; storedAt: number; error: string | null }>
  messages: { received: number; sent: number }
}

const ALLOW = 'MESSAGE, OPTIONS'

/**
 * A Parley peer: one user's identity, their presence on the overlay, SIP over
 * encrypted peer streams, and their messages. Runs in plain Node (the headless
 * daemon) and inside Electron's main process alike.
 */
export class Peer extends EventEmitter<{ message: [StoredMessage] }> {
  private closing: Promise<void> | null = null

  private constructor(
    readonly identity: Identity & { aor: Aor },
    readonly contacts: ContactBook,
    readonly store: MessageStore,
    readonly overlay: OverlayNode,
    readonly connections: PeerConnections,
    private readonly transactions: ClientTransactions,
    private readonly pager: Pager,
    private readonly log: Logger
  ) {
    super()
    connections.on('flow', (flow) => flow.on('message', (m) => void this.onSipMessage(m, flow)))
  }

  static async start(opts: PeerOptions): Promise<Peer> {
    const log = opts.log ?? silentLogger()
    const timers = { ...DEFAULT_TIMERS, ...opts.timers }
    const identity = await loadOrCreateIdentity(opts.dataDir, { aor: opts.aor, displayName: opts.displayName })
    if (!identity.aor) throw ParleyError.USAGE('no AOR yet: start once with --aor sip:user@domain')
    const aor = identity.aor
    const contacts = await ContactBook.open(opts.dataDir)
    const store = await MessageStore.open(opts.dataDir, log)
    const overlay = new OverlayNode({
      keyPair: identity.keyPair,
      dataDir: opts.dataDir,
      bootstrap: opts.bootstrap,
      host: opts.dhtHost,
      port: opts.dhtPort,
      log,
      registration: { refreshMs: timers.registrationRefreshMs, retryMs: timers.registrationRetryMs },
      rejoinMs: timers.rejoinMs
    })
    try {
      await overlay.start()
    } catch (err) {
      await store.close()
      await overlay.close().catch(() => {})
      throw err
    }
    const connections = new PeerConnections(overlay, log, { connectTimeoutMs: timers.connectTimeoutMs, limits: opts.limits })
    const transactions = new ClientTransactions(timers.timerFMs)
    const pager = new Pager({
      user: { aor, displayName: identity.displayName, publicKey: identity.keyPair.publicKey },
      contacts,
      store,
      transactions,
      lookup: async (a) => (await overlay.lookup(a)).keys,
      flowTo: (key) => connections.flowTo(key),
      log
    })
    const peer = new Peer({ ...identity, aor }, contacts, store, overlay, connections, transactions, pager, log)
    await overlay.register(aor)
    return peer
  }

  get aor(): Aor {
    return this.identity.aor
  }

  lookup(aor: string, opts: { trace?: boolean } = {}): Promise<LookupResult> {
    return this.overlay.lookup(canonicalAor(aor), opts)
  }

  sendMessage(to: string, text: string): Promise<SendResult> {
    if (this.closing) throw ParleyError.CLOSED()
    return this.pager.send(to, text)
  }

  inbox(): StoredMessage[] {
    return this.store.list({ direction: 'in' })
  }

  status(): PeerStatus {
    const dht = this.overlay.dht
    return {
      aor: this.aor,
      displayName: this.identity.displayName,
      publicKey: this.identity.keyPair.publicKey.toString('hex'),
      fingerprint: this.identity.fingerprint,
      role: dht.ephemeral ? 'peer' : 'dht-node',
      overlay: {
        state: this.overlay.state,
        dhtAddress: this.overlay.dhtAddress(),
        routingTableSize: this.overlay.routingTableSize(),
        firewalled: dht.firewalled
      },
      connections: this.connections.size,
      registrations: this.overlay.listRegistrations().map((r) => ({
        aor: r.aor,
        state: r.state,
        lastAnnouncedAt: r.lastAnnouncedAt?.toISOString() ?? null,
        storedAt: r.storedAt,
        error: r.lastError
      })),
      messages: { received: this.store.list({ direction: 'in' }).length, sent: this.store.list({ direction: 'out' }).length }
    }
  }

  private async onSipMessage(message: SipMessage, flow: PeerSipFlow): Promise<void> {
    if (message instanceof SipResponse) {
      this.transactions.onResponse(message)
      return
    }
    const req = message as SipRequest
    if (req.method === 'ACK') return
    let handled: { response: SipResponse; stored?: StoredMessage }
    try {
      handled = await this.handleRequest(req, flow)
    } catch (err) {
      this.log.error({ err, method: req.method }, 'request handler failed')
      handled = { response: createResponse(req, 500) }
    }
    flow.send(handled.response)
    if (handled.stored) this.emit('message', handled.stored)
  }

  private async handleRequest(req: SipRequest, flow: PeerSipFlow): Promise<{ response: SipResponse; stored?: StoredMessage }> {
    // RFC 3261 §8.1.1: these six headers are mandatory in every request.
    for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
      if (!req.get(name)) return { response: createResponse(req, 400, `Missing ${name}`) }
    }
    if (req.cseq?.method !== req.method) return { response: createResponse(req, 400, 'CSeq Method Mismatch') }
    switch (req.method) {
      case 'MESSAGE':
        return this.pager.receive(req, flow)
      case 'OPTIONS':
        return { response: createResponse(req, 200).append('Allow', ALLOW).append('Accept', 'text/plain') }
      default:
        return { response: createResponse(req, 405).append('Allow', ALLOW) }
    }
  }

  /** Graceful shutdown: unannounce, close streams and files. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.transactions.cancelAll('peer closing')
      await this.overlay.close()
      this.connections.closeAll()
      await this.store.close()
    })()
    return this.closing
  }
}
