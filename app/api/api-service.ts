import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { Peer } from '../peer.js'
import type { PeerSession } from '../peer-session.js'
import { canonicalAor, type Aor } from '../identity/aor.js'
import { fingerprint } from '../identity/fingerprint.js'
import { BuddyList, type BuddyEntry } from '../buddies/buddy-list.js'
import { CallHistory } from '../calls/call-history.js'
import { SettingsStore } from '../settings/settings-store.js'
import type { StoredMessage } from '../im/message-store.js'
import { ParleyError, errorCode } from '../errors.js'
import { Diagnostics } from '../diag/diagnostics.js'
import {
  isApiMethod,
  MAX_VOICEMAIL_BYTES,
  parseParams,
  type ApiEvent,
  type ApiEventName,
  type ApiMethod,
  type ApiParsedParams,
  type ApiResult,
  type Buddy,
  type ChatMessage,
  type PresenceStatus,
  type RelayLimits,
  type Settings,
  type TraceEntry
} from './contract.js'

/** Recent lookup traces kept for the overlay map. */
export const MAX_TRACES = 50
/** How often buddies' announced keys are checked against the pinned ones. */
const IDENTITY_CHECK_MS = 5 * 60_000

type Handlers = { [M in ApiMethod]: (params: ApiParsedParams<M>) => Promise<ApiResult<M>> | ApiResult<M> }

interface KeyCheck {
  offeredKey: string | null
}

/**
 * The peer side of the UI contract: validates each request, answers it from
 * the peer and the user's stores (buddies, call history, settings), and turns
 * what happens in the peer into contract events. Every transport (control
 * socket, web-mode WebSocket, Electron IPC) calls `handle` and listens to
 * `event`.
 */
export class ApiService extends EventEmitter<{ event: [name: ApiEventName, data: unknown] }> {
  private readonly traces: TraceEntry[] = []
  private readonly keyChecks = new Map<Aor, KeyCheck>()
  private readonly readMarks = new Map<Aor, string>()
  private readonly handlers: Handlers
  private readonly diagnostics: Diagnostics
  private identityTimer: NodeJS.Timeout | null = null

  private constructor(
    readonly session: PeerSession,
    readonly buddies: BuddyList,
    readonly calls: CallHistory,
    readonly settings: SettingsStore,
    private readonly log: Logger
  ) {
    super()
    this.diagnostics = new Diagnostics({ peer: () => this.peer, traces: () => this.traces, settings, log, changed: (s) => this.push('settings', s) })
    this.handlers = this.makeHandlers()
    session.on('identity', (identity) => this.push('identity', identity))
    if (session.peer) this.attach(session.peer)
    session.on('running', (peer) => this.attach(peer))
  }

  static async open(session: PeerSession, dataDir: string, log: Logger): Promise<ApiService> {
    const [buddies, calls, settings] = await Promise.all([BuddyList.open(dataDir), CallHistory.open(dataDir, log), SettingsStore.open(dataDir)])
    return new ApiService(session, buddies, calls, settings, log)
  }

  /** Validate and answer one request; errors carry a `code` (BAD_REQUEST names the field). */
  async handle(method: string, params: unknown): Promise<unknown> {
    if (!isApiMethod(method)) throw ParleyError.BAD_REQUEST(`unknown method ${JSON.stringify(method).slice(0, 80)}`)
    const parsed = parseParams(method, params)
    const handler = this.handlers[method] as (p: unknown) => unknown
    return handler(parsed)
  }

  async close(): Promise<void> {
    if (this.identityTimer) clearInterval(this.identityTimer)
    await this.calls.close()
  }

  private get peer(): Peer {
    return this.session.require()
  }

  private push<E extends ApiEventName>(name: E, data: ApiEvent<E>): void {
    this.emit('event', name, data)
  }

  private attach(peer: Peer): void {
    peer.store.on('change', (m) => {
      this.push('message', this.chatMessage(m))
      if (m.direction === 'in') this.pushBuddy(canonicalOrNull(m.from))
    })
    peer.overlay.on('lookup', ({ aor, reason, keys, trace }) => {
      const entry: TraceEntry = { aor, reason, keys: keys.map((k) => k.toString('hex')), trace }
      this.traces.push(entry)
      if (this.traces.length > MAX_TRACES) this.traces.shift()
      this.push('trace', entry)
    })
    peer.presence.on('presence', (aor) => this.pushBuddy(aor))
    peer.mailbox.on('voicemail', (vm) => this.push('voicemail', vm))
    peer.mailbox.on('status', (status) => this.push('mailbox', status))
    peer.relay.setLimits(relayLimits(this.settings.get()))
    this.diagnostics.serve(peer)
    peer.overlay.lan?.setAdvertising(this.settings.get().lanAdvertise)
    for (const b of this.buddies.list()) peer.presence.watch(b.aor)
    this.identityTimer = setInterval(() => {
      for (const b of this.buddies.list()) void this.checkKey(b.aor)
    }, IDENTITY_CHECK_MS)
    this.identityTimer.unref()
  }

  private makeHandlers(): Handlers {
    return {
      'identity.get': () => this.session.identity(),
      'identity.setup': (p) => this.session.setup(p.aor, p.displayName),

      status: () => this.peer.status(),
      lookup: async (p) => {
        const aor = canonicalAor(p.aor)
        const { keys, trace } = await this.peer.overlay.lookup(aor, { trace: p.trace, reason: 'lookup' })
        const pinned = this.peer.contacts.get(aor)?.publicKey ?? null
        return { aor, keys: keys.map((k) => k.toString('hex')), pinned, ...(trace ? { trace } : {}) }
      },
      'traces.recent': (p) => {
        const aor = p.aor === undefined ? null : canonicalAor(p.aor)
        return this.traces.filter((t) => aor === null || t.aor === aor).reverse()
      },

      'relay.forCall': (p) => this.peer.relay.planFor(p.callId),
      'relay.failover': (p) => this.peer.relay.failover(p.callId, p.failed),
      'relay.setMode': (p) => this.peer.relay.setMode(p.mode),

      'presence.get': () => this.peer.presence.own(),
      'presence.set': async (p) => {
        await this.peer.presence.setOwn(p.status, p.note ?? null)
        const own = this.peer.presence.own()
        this.push('presence', own)
        return own
      },

      'buddies.list': () => this.buddies.list().map((b) => this.buddy(b)),
      'buddies.add': async (p) => {
        const aor = canonicalAor(p.aor)
        if (aor === this.peer.aor) throw ParleyError.BAD_REQUEST('aor: that is your own address')
        const entry = await this.buddies.add(aor, p.displayName ?? null)
        this.peer.presence.watch(aor)
        await this.checkKey(aor)
        return this.buddy(entry)
      },
      'buddies.remove': async (p) => {
        const aor = canonicalAor(p.aor)
        const removed = await this.buddies.remove(aor)
        if (removed) {
          this.peer.presence.unwatch(aor)
          this.keyChecks.delete(aor)
          this.push('buddy-removed', { aor })
        }
        return { removed }
      },
      'buddies.acceptKey': async (p) => {
        const aor = canonicalAor(p.aor)
        const entry = this.buddies.get(aor)
        if (!entry) throw new ParleyError('NOT_FOUND', `${aor} is not a buddy`)
        await this.peer.contacts.pin(aor, p.publicKey)
        this.keyChecks.set(aor, { offeredKey: null })
        const buddy = this.buddy(entry)
        this.push('buddy', buddy)
        return buddy
      },

      'messages.list': (p) => {
        const peer = p.peer === undefined ? null : canonicalAor(p.peer)
        return this.peer.store
          .list()
          .map((m) => this.chatMessage(m))
          .filter((m) => peer === null || m.peer === peer)
          .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
          .slice(-p.limit)
      },
      'messages.send': async (p) => {
        let id: string
        try {
          id = (await this.peer.sendMessage(p.to, p.text)).id
        } catch (err) {
          if (errorCode(err) === 'IDENTITY_CHANGED') void this.checkKey(canonicalAor(p.to))
          throw err
        }
        const stored = this.peer.store.get(id)
        if (!stored) throw new ParleyError('INTERNAL', 'sent message was not stored')
        return this.chatMessage(stored)
      },
      'messages.markRead': async (p) => {
        const aor = canonicalAor(p.peer)
        const incoming = this.peer.store.list({ direction: 'in' }).filter((m) => canonicalOrNull(m.from) === aor)
        const before = incoming.filter((m) => !this.isRead(m)).length
        const latest = incoming.reduce((max, m) => (m.at > max ? m.at : max), '')
        if (latest) {
          this.readMarks.set(aor, latest)
          await this.buddies.markRead(aor, latest)
        }
        this.pushBuddy(aor)
        return { marked: before }
      },
      send: (p) => this.peer.sendMessage(p.to, p.text),
      inbox: () => this.peer.inbox(),

      'mailbox.status': () => this.peer.mailbox.status(),
      'mailbox.check': () => this.peer.mailbox.check(),
      'mailbox.repair': () => this.peer.mailbox.repair(),
      'voicemail.send': async (p) => {
        const audio = Buffer.from(p.audio, 'base64')
        if (audio.length === 0 || audio.length > MAX_VOICEMAIL_BYTES) throw ParleyError.BAD_REQUEST(`audio: 1 to ${MAX_VOICEMAIL_BYTES} bytes of base64`)
        return this.peer.mailbox.sendVoicemail(p.to, audio, p.mime, p.durationMs)
      },
      'voicemail.list': () => this.peer.mailbox.voicemails.list(),
      'voicemail.audio': async (p) => {
        const { mime, audio } = await this.peer.mailbox.voicemails.audio(p.id)
        return { mime, audio: audio.toString('base64') }
      },
      'voicemail.markHeard': (p) => this.peer.mailbox.voicemails.update(p.id, { heard: true }),

      'calls.list': (p) => this.calls.list(p.limit),
      'calls.record': async (p) => {
        const record = { ...p, peer: canonicalAor(p.peer) }
        await this.calls.record(record)
        this.push('call', record)
        return record
      },

      'settings.get': () => this.settings.get(),
      'settings.set': async (p) => {
        const next = await this.settings.update(p)
        this.session.peer?.relay.setLimits(relayLimits(next))
        this.session.peer?.overlay.lan?.setAdvertising(next.lanAdvertise)
        this.push('settings', next)
        return next
      },

      'diag.get': (p) => this.diagnostics.get(p.section, p.peer),
      'diag.logLevel': (p) => this.diagnostics.setLogLevel(p.level, p.peer),
      'diag.allow.list': () => this.diagnostics.allowList(),
      'diag.allow.add': (p) => this.diagnostics.allow(p.publicKey),
      'diag.allow.remove': (p) => this.diagnostics.disallow(p.publicKey),

      'contacts.list': () => this.peer.contacts.list(),
      'contacts.pin': (p) => this.peer.contacts.pin(canonicalAor(p.aor), p.publicKey),
      'contacts.remove': async (p) => ({ removed: await this.peer.contacts.remove(canonicalAor(p.aor)) })
    }
  }

  /** Look the buddy up and compare with the pinned key (pinning on first contact). */
  private async checkKey(aor: Aor): Promise<void> {
    const peer = this.session.peer
    if (!peer) return
    try {
      const { keys } = await peer.overlay.lookup(aor, { trace: true, reason: 'presence' })
      if (!keys.length) return
      await peer.contacts.resolve(aor, keys)
      this.keyChecks.set(aor, { offeredKey: null })
    } catch (err) {
      const code = errorCode(err)
      if (code !== 'IDENTITY_CHANGED' && code !== 'IDENTITY_AMBIGUOUS') {
        this.log.debug({ aor, err: (err as Error).message }, 'identity check failed')
        return
      }
      const found = ((err as ParleyError).details?.found as string[] | undefined) ?? []
      this.keyChecks.set(aor, { offeredKey: found[0] ?? null })
    }
    this.pushBuddy(aor)
  }

  private pushBuddy(aor: Aor | null): void {
    const entry = aor ? this.buddies.get(aor) : undefined
    if (entry) this.push('buddy', this.buddy(entry))
  }

  private buddy(entry: BuddyEntry): Buddy {
    const peer = this.peer
    const presence = peer.presence.buddyPresence(entry.aor)
    const pinned = peer.contacts.get(entry.aor)
    const offered = this.keyChecks.get(entry.aor)?.offeredKey ?? null
    const unread = peer.store.list({ direction: 'in' }).filter((m) => canonicalOrNull(m.from) === entry.aor && !this.isRead(m)).length
    return {
      aor: entry.aor,
      displayName: entry.displayName,
      presence: (presence?.status ?? 'offline') as PresenceStatus,
      note: presence?.note ?? null,
      presenceUpdatedAt: presence?.updatedAt ?? null,
      identity: {
        state: offered ? 'changed' : pinned ? 'pinned' : 'unknown',
        publicKey: pinned?.publicKey ?? null,
        fingerprint: pinned?.fingerprint ?? null,
        offeredKey: offered,
        offeredFingerprint: offered ? fingerprint(Buffer.from(offered, 'hex')) : null
      },
      unread
    }
  }

  private isRead(m: StoredMessage): boolean {
    if (m.direction === 'out') return true
    const aor = canonicalOrNull(m.from)
    const mark = (aor && (this.readMarks.get(aor) ?? this.buddies.get(aor)?.lastReadAt)) || null
    return mark !== null && m.at <= mark
  }

  private chatMessage(m: StoredMessage): ChatMessage {
    const other = m.direction === 'in' ? m.from : m.to
    return {
      id: m.id,
      direction: m.direction,
      peer: canonicalOrNull(other) ?? other,
      from: m.from,
      fromName: m.fromName,
      to: m.to,
      text: m.text,
      at: m.at,
      state: m.status,
      sipStatus: m.sipStatus,
      identity: m.identity,
      read: this.isRead(m),
      ...(m.mailed ? { mailed: true } : {})
    }
  }
}

function canonicalOrNull(aor: string): Aor | null {
  try {
    return canonicalAor(aor)
  } catch {
    return null
  }
}

function relayLimits(s: Settings): RelayLimits {
  return { relayMaxKbps: s.relayMaxKbps, relayMaxCalls: s.relayMaxCalls, neverRelay: s.neverRelay }
}
