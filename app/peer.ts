import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { NodeStatus } from './api/contract.js'
import { canonicalAor, type Aor } from './identity/aor.js'
import { loadOrCreateIdentity, type Identity } from './identity/identity-store.js'
import { ContactBook } from './identity/contact-book.js'
import { OverlayNode, type LookupResult, type OverlayState } from './overlay/overlay-node.js'
import { PeerConnections } from './overlay/peer-connections.js'
import { createResponse, type SipRequest, type SipResponse } from './sip/message.js'
import { sendRequest } from './sip/transaction/send-request.js'
import type { SipFlow } from './sip/transport.js'
import { SipStack, type SipOptions } from './sip-stack.js'
import { ALLOW } from './sip/sip-core.js'
import type { FramerLimits } from './sip/stream-framer.js'
import { MessageStore, type StoredMessage } from './im/message-store.js'
import { Pager, type SendResult } from './im/pager.js'
import { PresenceService, type PresenceOptions } from './presence/presence-service.js'
import { peerHost } from './sip/proxy/local-addresses.js'
import { lanContact } from './overlay/lan-records.js'
import { silentLogger } from './log.js'
import { ParleyError } from './errors.js'
import { RelayService, type RelayOptions } from './relay/relay-service.js'
import { MailboxService, type MailboxOptions } from './mailbox/mailbox-service.js'
import { DiagService } from './diag/diag-service.js'

export interface PeerTimers {
  /** RFC 3261 Timer F: how long a non-INVITE request waits for a final response. */
  timerFMs: number
  connectTimeoutMs: number
  /** When a peer-stream connect has not opened yet, a second attempt starts (docs/overlay.md). */
  connectHedgeMs: number
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
  /** The SIP proxy/registrar for standard phones (transports off unless given). */
  sip?: SipOptions
  /** Presence timers and bounds (tests shorten the retry backoff). */
  presence?: PresenceOptions
  /** Super-node policy, relay services, capacity probes (docs/relay.md). */
  relay?: RelayOptions
  /** Offline messages: replication, fetch and repair intervals, holder limits (docs/mailbox.md). */
  mailbox?: MailboxOptions
  /** Zeroconf on the DHT's interface (docs/lan.md); absent means off. */
  lan?: { advertise: boolean; quiet?: boolean; refreshMs?: number }
}

export const DEFAULT_TIMERS: PeerTimers = {
  timerFMs: 32_000, // 64 × T1 (RFC 3261 §17.1.2.2)
  connectTimeoutMs: 15_000,
  connectHedgeMs: 4_000,
  registrationRefreshMs: 10 * 60_000,
  registrationRetryMs: 5_000,
  rejoinMs: 30_000
}

export type PeerStatus = NodeStatus & { aor: Aor; overlay: { state: OverlayState } }

/**
 * A Parley peer: one user's identity, their presence on the overlay, SIP over
 * encrypted peer streams, and their messages. Runs in plain Node (the headless
 * daemon) and inside Electron's main process alike.
 */
export class Peer extends EventEmitter<{ message: [StoredMessage] }> {
  private closing: Promise<void> | null = null
  readonly startedAt = Date.now()
  private readonly overlayWork = new Set<Promise<unknown>>()
  /** Diagnostics beside SIP on every peer stream, for the keys the owner allowed (docs/diagnostics.md). */
  readonly diag = new DiagService()

  private constructor(
    readonly identity: Identity & { aor: Aor },
    readonly contacts: ContactBook,
    readonly store: MessageStore,
    readonly overlay: OverlayNode,
    readonly connections: PeerConnections,
    readonly sip: SipStack,
    private readonly pager: Pager,
    /** Own status for watchers, buddies' statuses (RFC 3856). */
    readonly presence: PresenceService,
    /** af(), the super-node role, relays for calls. */
    readonly relay: RelayService,
    /** Offline messages and voicemail; others' mailboxes while a super-node. */
    readonly mailbox: MailboxService,
    private readonly log: Logger
  ) {
    super()
  }

  static async start(opts: PeerOptions): Promise<Peer> {
    const log = opts.log ?? silentLogger()
    const startedAt = Date.now()
    const timers = { ...DEFAULT_TIMERS, ...opts.timers }
    const identity = await loadOrCreateIdentity(opts.dataDir, { aor: opts.aor, displayName: opts.displayName })
    if (!identity.aor) throw ParleyError.USAGE('no AOR yet: start once with --aor sip:user@domain')
    const aor = identity.aor
    const contacts = await ContactBook.open(opts.dataDir)
    const store = await MessageStore.open(opts.dataDir, log)
    let relay: RelayService | null = null
    const overlay = new OverlayNode({
      keyPair: identity.keyPair,
      dataDir: opts.dataDir,
      bootstrap: opts.bootstrap,
      host: opts.dhtHost,
      port: opts.dhtPort,
      log,
      registration: { refreshMs: timers.registrationRefreshMs, retryMs: timers.registrationRetryMs },
      rejoinMs: timers.rejoinMs,
      relayThrough: (remote) => relay?.relayThrough(remote) ?? null,
      lan: opts.lan && { ...opts.lan, displayName: identity.displayName ?? '', contact: (a, host) => lanContact(a, host, sip?.transports.find((t) => t.name === 'UDP')?.local ?? null, peerHost(identity.keyPair.publicKey)) }
    })
    let sip: SipStack | null = null
    let presence: PresenceService | null = null
    let mailbox: MailboxService | null = null
    try {
      await overlay.start()
      const connections = new PeerConnections(overlay, log, { connectTimeoutMs: timers.connectTimeoutMs, hedgeMs: timers.connectHedgeMs, limits: opts.limits })
      const mail = await MailboxService.open(
        {
          dataDir: opts.dataDir,
          keyPair: identity.keyPair,
          aor,
          displayName: identity.displayName,
          dht: () => overlay.dht,
          contacts,
          messages: store,
          lookup: async (a) => (await overlay.lookup(a, { trace: true, reason: 'message' })).keys,
          log
        },
        opts.mailbox
      )
      mailbox = mail
      const relays = new RelayService(
        {
          overlay,
          connections,
          keyPair: identity.keyPair,
          registration: { refreshMs: timers.registrationRefreshMs, retryMs: timers.registrationRetryMs },
          log,
          services: { promoted: () => mail.promoted(), steppingDown: () => mail.steppingDown() }
        },
        opts.relay
      )
      relay = relays
      connections.on('flow', (flow) => relays.attach(flow))
      let pager: Pager | null = null
      const flowTo = (key: Buffer) => connections.flowTo(key)
      sip = await SipStack.start(
        { ...opts.sip, timers: { T1: Math.min(500, timers.timerFMs / 64), ...opts.sip?.timers } },
        {
          dataDir: opts.dataDir,
          publicKey: identity.keyPair.publicKey,
          localAors: () => [aor],
          doNotDisturb: () => presence?.own().status === 'busy',
          overlayLookup: async (a) => (await overlay.lookup(a, { trace: true, reason: 'proxy' })).keys,
          flowTo,
          lanPhones: (a) => overlay.lan?.lookupPhone(a) ?? [],
          local: (req, flow) => localRequest(req, flow, pager, presence),
          health: () => {
            const { role, annoyance } = relays.status()
            return { role, af: annoyance.af, uptimeS: Math.round((Date.now() - startedAt) / 1000) }
          },
          log
        }
      )
      const stack = sip
      connections.on('flow', (flow) => stack.core.attachFlow(flow))
      pager = new Pager({
        user: { aor, displayName: identity.displayName, publicKey: identity.keyPair.publicKey },
        contacts,
        store,
        request: (flow, req) => sendRequest(stack.layer, { kind: 'flow', flow }, req),
        lookup: async (a) => (await overlay.lookup(a, { trace: true, reason: 'message' })).keys,
        flowTo,
        loopback: () => stack.loopback(),
        onLanPhone: (a) => (overlay.lan?.lookupPhone(a).length ?? 0) > 0,
        mail: (key, sipId, text) => mail.mailText(key, sipId, text),
        log
      })
      presence = await PresenceService.start({
        aor,
        displayName: identity.displayName,
        publicKey: identity.keyPair.publicKey,
        host: peerHost(identity.keyPair.publicKey),
        dataDir: opts.dataDir,
        send: (req) => sendRequest(stack.layer, { kind: 'flow', flow: stack.loopback() }, req),
        options: opts.presence,
        log
      })
      const watcher = presence
      // A closed peer stream may mean a crashed buddy: its dialogs re-subscribe (and fail if it is gone).
      connections.on('flow', (flow) => flow.once('close', () => watcher.peerGone(flow.remotePublicKey)))
      const peer = new Peer({ ...identity, aor }, contacts, store, overlay, connections, stack, pager, presence, relays, mail, log)
      peer.diag.follow(connections) // the streams adopted so far too
      // Gateway: a phone's AOR is announced on the overlay while it has a live binding here.
      stack.bindings.on('aor-added', (a) => {
        if (a !== aor) peer.track(overlay.register(a).catch((err: Error) => log.warn({ aor: a, err: err.message }, 'announce failed')))
      })
      stack.bindings.on('aor-removed', (a) => {
        if (a !== aor) peer.track(overlay.unregister(a))
      })
      pager.on('received', (m) => peer.emit('message', m))
      mail.on('message', (m) => peer.emit('message', m))
      await overlay.register(aor)
      relays.start()
      mail.start()
      return peer
    } catch (err) {
      await relay?.close()
      await mailbox?.close()
      await presence?.close()
      await sip?.close()
      await store.close()
      await overlay.close().catch(() => {})
      throw err
    }
  }

  private track(work: Promise<unknown>): void {
    this.overlayWork.add(work)
    void work.finally(() => this.overlayWork.delete(work))
  }

  /** Resolves when the gateway's announcements and withdrawals started so far are done. */
  async overlaySettled(): Promise<void> {
    while (this.overlayWork.size) await Promise.allSettled([...this.overlayWork])
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
      role: this.relay.isSuperNode ? 'super-node' : 'client',
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      overlay: {
        state: this.overlay.state,
        dhtAddress: this.overlay.dhtAddress(),
        routingTableSize: this.overlay.routingTableSize(),
        firewalled: dht.firewalled,
        routingTable: this.overlay.routingTable(),
        lan: this.overlay.lan && {
          advertising: this.overlay.lan.isAdvertising,
          mode: this.overlay.lan.mayAdvertise ? 'advertise' : 'browse',
          peers: this.overlay.lan.peers().map((p) => ({
            aor: p.aor,
            displayName: p.displayName,
            publicKey: p.publicKey.toString('hex'),
            address: p.address,
            dht: p.dht && `${p.dht.host}:${p.dht.port}`
          })),
          phones: this.overlay.lan.phones().map((p) => ({ aor: p.aor, displayName: p.displayName, contact: p.contact, address: p.address }))
        }
      },
      connections: this.connections.size,
      traffic: {
        bytesIn: dht.udx.bytesReceived,
        bytesOut: dht.udx.bytesTransmitted,
        packetsIn: dht.udx.packetsReceived,
        packetsOut: dht.udx.packetsTransmitted
      },
      registrations: this.overlay.listRegistrations().map((r) => ({
        aor: r.aor,
        state: r.state,
        lastAnnouncedAt: r.lastAnnouncedAt?.toISOString() ?? null,
        storedAt: r.storedAt,
        error: r.lastError
      })),
      messages: { received: this.store.list({ direction: 'in' }).length, sent: this.store.list({ direction: 'out' }).length },
      sip: {
        transports: this.sip.transports.map((t) => ({ transport: t.name, host: t.local.host, port: t.local.port })),
        boundAors: this.sip.bindings.aorCount,
        transactions: this.sip.layer.size
      },
      relay: this.relay.status()
    }
  }

  /** True between `suspend()` and `resume()`. */
  get suspended(): boolean {
    return this.overlay.dht.suspended
  }

  /**
   * The machine is going to sleep: pause the DHT (hyperswarm's suspend()) so no
   * timer fires into a dead network and no half-open stream lingers. Records are
   * not withdrawn: the OS gives too little time for that, and they expire on
   * their own if the sleep outlasts them. Safe to call twice.
   */
  async suspend(): Promise<void> {
    if (this.closing) return
    await this.overlay.dht.suspend()
  }

  /**
   * Awake again: resume the DHT and announce every registration now, not at the
   * next refresh — the records may have expired and our address may have changed.
   */
  async resume(): Promise<void> {
    if (this.closing) return
    await this.overlay.dht.resume()
    await Promise.all(this.overlay.listRegistrations().map((r) => r.refresh()))
  }

  /** Graceful shutdown: unannounce, close streams and files. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Watchers get their final NOTIFY (offline) while the SIP stack still runs.
      await this.presence.close()
      await this.sip.close()
      // A super-node quitting hands its mailboxes on while it is still a DHT node.
      await this.mailbox.steppingDown().catch((err: Error) => this.log.warn({ err: err.message }, 'mailbox hand-off failed'))
      await this.mailbox.close()
      await this.relay.close()
      await this.overlay.close()
      this.connections.closeAll()
      await this.store.close()
    })()
    return this.closing
  }
}

/** Requests for the peer's own user: instant messages to the inbox, presence SUBSCRIBE/NOTIFY, OPTIONS answered here. */
async function localRequest(req: SipRequest, flow: SipFlow | null, pager: Pager | null, presence: PresenceService | null): Promise<SipResponse> {
  switch (req.method) {
    case 'SUBSCRIBE':
    case 'NOTIFY':
      return presence?.handle(req) ?? createResponse(req, 503)
    case 'MESSAGE':
      return pager ? (await pager.receive(req, flow)).response : createResponse(req, 503)
    case 'OPTIONS':
      return createResponse(req, 200).append('Allow', ALLOW).append('Accept', 'text/plain, application/pidf+xml').append('Allow-Events', 'presence')
    case 'INVITE':
      // Calls belong to the UI's user agent (a later issue): nobody answers yet.
      return createResponse(req, 480, 'No User Agent Registered')
    default:
      return createResponse(req, 405).append('Allow', 'MESSAGE, OPTIONS, SUBSCRIBE, NOTIFY')
  }
}
