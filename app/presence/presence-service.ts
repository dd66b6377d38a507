import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { Aor } from '../identity/aor.js'
import type { PresenceStatus } from '../api/contract.js'
import type { SipRequest, SipResponse } from '../sip/message.js'
import type { TransactionOutcome } from '../sip/transaction/send-request.js'
import type { PresenceInfo } from './pidf.js'
import { PresenceAgent, type PresenceAgentOptions } from './presence-agent.js'
import { PresenceWatcher, type BuddyPresence, type PresenceWatcherOptions } from './presence-watcher.js'

export interface PresenceOptions {
  agent?: Partial<PresenceAgentOptions>
  watcher?: Partial<PresenceWatcherOptions>
  /** How long a graceful close waits for watchers to take the final NOTIFY. */
  closeTimeoutMs?: number
}

export interface PresenceServiceDeps {
  aor: Aor
  displayName: string | null
  publicKey: Buffer
  /** This peer's `.parley.invalid` host. */
  host: string
  dataDir: string
  /** Send a request through the peer's own proxy. */
  send: (req: SipRequest) => Promise<TransactionOutcome>
  options?: PresenceOptions
  log: Logger
}

export interface PresenceEvents {
  /** A watched buddy's presence changed. */
  presence: [aor: Aor, presence: BuddyPresence]
  /** Our own status changed. */
  own: [PresenceInfo]
}

/**
 * The peer's presence: its own status, offered to watchers by the notifier,
 * and its buddies' statuses, kept by the subscriber. `peer.presence` is this.
 */
export class PresenceService extends EventEmitter<PresenceEvents> {
  private closing: Promise<void> | null = null

  private constructor(
    private readonly agent: PresenceAgent,
    private readonly watcher: PresenceWatcher,
    private readonly closeTimeoutMs: number
  ) {
    super()
    agent.on('changed', (info) => this.emit('own', info))
    watcher.on('presence', (aor, p) => this.emit('presence', aor, p))
  }

  static async start(deps: PresenceServiceDeps): Promise<PresenceService> {
    const { options, ...rest } = deps
    const agent = await PresenceAgent.open({ ...rest, options: options?.agent })
    const watcher = new PresenceWatcher({ ...rest, options: options?.watcher })
    return new PresenceService(agent, watcher, options?.closeTimeoutMs ?? 2_000)
  }

  own(): PresenceInfo {
    return this.agent.own()
  }

  setOwn(status: PresenceStatus, note?: string | null): Promise<PresenceInfo> {
    return this.agent.setOwn(status, note)
  }

  /** Start watching a buddy; its current (initially `offline`) presence is returned, changes come as `presence` events. */
  watch(aor: string): BuddyPresence {
    return this.watcher.watch(aor)
  }

  unwatch(aor: string): Promise<void> {
    return this.watcher.unwatch(aor)
  }

  buddyPresence(aor: string): BuddyPresence | null {
    return this.watcher.presenceOf(aor)
  }

  watching(): Aor[] {
    return this.watcher.watching()
  }

  /** Subscriptions to our presence currently held. */
  get watchers(): number {
    return this.agent.size
  }

  /** SUBSCRIBE and NOTIFY for the peer's own user; null for other methods. */
  handle(req: SipRequest): SipResponse | null {
    if (req.method === 'SUBSCRIBE') return this.agent.handleSubscribe(req)
    if (req.method === 'NOTIFY') return this.watcher.handleNotify(req)
    return null
  }

  /** A peer stream closed: dialogs through that peer re-subscribe. */
  peerGone(publicKey: Buffer): void {
    this.watcher.onPeerGone(publicKey)
  }

  /** Final NOTIFYs to watchers and unsubscribes from buddies, bounded in time. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.agent.close(this.closeTimeoutMs), this.watcher.close(this.closeTimeoutMs)]).then(() => {})
    return this.closing
  }
}
