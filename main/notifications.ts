import { ApiEvents, type ApiEventName, type CallRecord, type ChatMessage, type Voicemail } from '../app/api/contract.js'

/**
 * Desktop notifications for what happens while the user looks elsewhere:
 * an incoming call (Answer / Decline where the platform has buttons), a missed
 * call, new messages, a voicemail. Each says which view a click opens.
 *
 * The peer's contract has no "ringing" event (calls live in the renderer's
 * user agent), so an incoming call is reported by the renderer through
 * `incomingCall`; everything else comes from the contract's events.
 */

/** Where a click takes the user; main.ts hands it to the renderer's router. */
export const NotificationRoutes = {
  call: (callId: string) => `#/call/${encodeURIComponent(callId)}`,
  chat: (peer: string) => `#/chat/${encodeURIComponent(peer)}`,
  history: '#/history',
  voicemail: '#/voicemail'
} as const

export type NotificationAction = 'answer' | 'decline'

export interface NotificationSpec {
  /** What it is about: a new spec with the key of a shown one replaces it. */
  key: string
  title: string
  body: string
  route: string
  /** Muted notifications still show, without a sound. */
  silent: boolean
  /** Buttons, in order; only where Electron shows them (macOS, Windows). */
  actions: NotificationAction[]
  /** An incoming call stays up until answered elsewhere or missed (Linux and Windows honour these). */
  urgency: 'normal' | 'critical'
  timeoutType: 'default' | 'never'
}

export interface NotificationContext {
  platform: NodeJS.Platform
  muted: boolean
}

/** A call ringing in the renderer's user agent. */
export interface IncomingCall {
  callId: string
  peer: string
  peerName: string | null
}

const ACTION_LABEL: Record<NotificationAction, string> = { answer: 'Answer', decline: 'Decline' }
const MAX_BODY = 200

/** Text from a remote party: no control or bidi-override characters, bounded length. */
function clean(text: string, max = MAX_BODY): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

function base(ctx: NotificationContext, key: string, route: string, title: string, body: string): NotificationSpec {
  return { key, title: clean(title, 128), body: clean(body), route, silent: ctx.muted, actions: [], urgency: 'normal', timeoutType: 'default' }
}

function actionsSupported(platform: NodeJS.Platform): boolean {
  // Electron's NotificationAction buttons: macOS and Windows; Linux shows none.
  return platform === 'darwin' || platform === 'win32'
}

export function incomingCallNotification(call: IncomingCall, ctx: NotificationContext): NotificationSpec {
  return {
    ...base(ctx, `call:${call.callId}`, NotificationRoutes.call(call.callId), call.peerName ?? call.peer, `Incoming call from ${call.peer}`),
    actions: actionsSupported(ctx.platform) ? ['answer', 'decline'] : [],
    urgency: 'critical',
    timeoutType: 'never'
  }
}

/** A missed incoming call; null for any other record. */
export function missedCallNotification(record: CallRecord, ctx: NotificationContext): NotificationSpec | null {
  if (record.direction !== 'incoming' || record.outcome !== 'missed') return null
  return base(ctx, `call:${record.id}`, NotificationRoutes.history, record.peerName ?? record.peer, `Missed call from ${record.peer}`)
}

/** Whether a `message` event is a new incoming message worth telling about. */
export function isNewIncoming(message: ChatMessage): boolean {
  return message.direction === 'in' && message.state === 'received' && !message.read
}

/** One conversation's news: the latest message, and how many came since the last notification. */
export function messageNotification(latest: ChatMessage, count: number, ctx: NotificationContext): NotificationSpec {
  const text = count > 1 ? `${count} new messages — ${latest.text}` : latest.text
  return base(ctx, `chat:${latest.peer}`, NotificationRoutes.chat(latest.peer), latest.fromName ?? latest.peer, text)
}

/** A new voicemail left for us; null for outgoing ones and state changes. */
export function voicemailNotification(vm: Voicemail, ctx: NotificationContext): NotificationSpec | null {
  if (vm.direction !== 'in' || vm.heard || vm.state !== 'received') return null
  const seconds = Math.round(vm.durationMs / 1000)
  return base(ctx, `voicemail:${vm.id}`, NotificationRoutes.voicemail, vm.peerName ?? vm.peer, `New voice message (${seconds} s) from ${vm.peer}`)
}

// ── Wiring ──────────────────────────────────────────────────────────────────

/** Electron's `Notification` as far as this module uses it. */
export interface NotificationLike {
  show(): void
  close(): void
  on(event: 'click', listener: () => void): unknown
  on(event: 'action', listener: (details: { actionIndex: number }, actionIndex: number) => void): unknown
  on(event: 'close', listener: () => void): unknown
}

export interface NotificationOptionsLike {
  title: string
  body: string
  silent: boolean
  actions?: Array<{ type: 'button'; text: string }>
  urgency?: 'normal' | 'critical' | 'low'
  timeoutType?: 'default' | 'never'
}

export interface NotificationCtor {
  new (options: NotificationOptionsLike): NotificationLike
  isSupported(): boolean
}

export interface SetupNotificationsOptions {
  /** Electron's `Notification` class. */
  Notification: NotificationCtor
  platform: NodeJS.Platform
  /** The tray's mute toggle. */
  isMuted: () => boolean
  /** The user is looking at the window: the view shows it already, nothing pops up. */
  isWindowFocused?: () => boolean
  /** A click: show the window and route the renderer there. */
  openRoute: (route: string) => void
  answer: (callId: string) => void
  decline: (callId: string) => void
  /** One notification per conversation per this long; messages in between are counted into the next. */
  coalesceMs?: number
  onError?: (err: unknown) => void
  timers?: { setTimeout: (fn: () => void, ms: number) => unknown; clearTimeout: (handle: unknown) => void }
}

export interface ParleyNotifications {
  /** Feed every contract event (`ApiService`'s `event`); the ones that matter are shown. */
  event(name: ApiEventName, data: unknown): void
  /** The renderer's user agent is ringing. */
  incomingCall(call: IncomingCall): void
  /** Answered, declined or cancelled: take the ringing notification down. */
  callEnded(callId: string): void
  /** Take everything down and stop timers (quit). */
  close(): void
}

interface Burst {
  timer: unknown
  pending: ChatMessage[]
}

const SEEN_LIMIT = 2000

export function setupNotifications(opts: SetupNotificationsOptions): ParleyNotifications {
  const coalesceMs = opts.coalesceMs ?? 5000
  const timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms).unref(), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) }
  const onError = opts.onError ?? (() => {})
  const supported = opts.Notification.isSupported()
  // Shown notifications by key: replaced by a newer spec, and referenced so Electron
  // does not collect one (and its click handler) while it is on screen.
  const shown = new Map<string, NotificationLike>()
  const bursts = new Map<string, Burst>()
  const seen = new Set<string>()
  let closed = false

  const ctx = (): NotificationContext => ({ platform: opts.platform, muted: opts.isMuted() })

  function firstSight(id: string): boolean {
    if (seen.has(id)) return false
    seen.add(id)
    if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string)
    return true
  }

  function dismiss(key: string): void {
    const n = shown.get(key)
    shown.delete(key)
    n?.close()
  }

  function show(spec: NotificationSpec): void {
    if (closed || !supported || opts.isWindowFocused?.()) return
    dismiss(spec.key)
    try {
      const n = new opts.Notification({
        title: spec.title,
        body: spec.body,
        silent: spec.silent,
        ...(spec.actions.length ? { actions: spec.actions.map((a) => ({ type: 'button' as const, text: ACTION_LABEL[a] })) } : {}),
        urgency: spec.urgency,
        timeoutType: spec.timeoutType
      })
      n.on('click', () => {
        dismiss(spec.key)
        guard(() => opts.openRoute(spec.route))
      })
      n.on('action', (details, index) => {
        const action = spec.actions[details?.actionIndex ?? index]
        const callId = spec.key.slice('call:'.length)
        dismiss(spec.key)
        if (action === 'answer') guard(() => opts.answer(callId))
        if (action === 'decline') guard(() => opts.decline(callId))
      })
      n.on('close', () => {
        if (shown.get(spec.key) === n) shown.delete(spec.key)
      })
      shown.set(spec.key, n)
      n.show()
    } catch (err) {
      onError(err)
    }
  }

  function guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      onError(err)
    }
  }

  /** The first message of a quiet conversation shows at once; later ones wait for the window to end. */
  function message(m: ChatMessage): void {
    const key = `chat:${m.peer}`
    const burst = bursts.get(key)
    if (burst) {
      burst.pending.push(m)
      return
    }
    show(messageNotification(m, 1, ctx()))
    openWindow(key)
  }

  function openWindow(key: string): void {
    const burst: Burst = { pending: [], timer: null }
    burst.timer = timers.setTimeout(() => {
      bursts.delete(key)
      const latest = burst.pending.at(-1)
      if (!latest) return
      show(messageNotification(latest, burst.pending.length, ctx()))
      openWindow(key)
    }, coalesceMs)
    bursts.set(key, burst)
  }

  function conversationRead(peer: string): void {
    const key = `chat:${peer}`
    const burst = bursts.get(key)
    if (burst) burst.pending = []
    dismiss(key)
  }

  return {
    event(name, data) {
      if (closed) return
      const parsed = ApiEvents[name].safeParse(data)
      if (!parsed.success) return onError(new Error(`notifications: invalid ${name} event`))
      switch (name) {
        case 'message': {
          const m = parsed.data as ChatMessage
          if (isNewIncoming(m) && firstSight(`message:${m.id}`)) message(m)
          break
        }
        case 'buddy': {
          const b = parsed.data as { aor: string; unread: number }
          if (b.unread === 0) conversationRead(b.aor)
          break
        }
        case 'call': {
          const record = parsed.data as CallRecord
          dismiss(`call:${record.id}`)
          const spec = missedCallNotification(record, ctx())
          if (spec && firstSight(spec.key)) show(spec)
          break
        }
        case 'voicemail': {
          const vm = parsed.data as Voicemail
          if (vm.heard) dismiss(`voicemail:${vm.id}`)
          const spec = voicemailNotification(vm, ctx())
          if (spec && firstSight(spec.key)) show(spec)
          break
        }
      }
    },
    incomingCall(call) {
      show(incomingCallNotification(call, ctx()))
    },
    callEnded(callId) {
      dismiss(`call:${callId}`)
    },
    close() {
      closed = true
      for (const burst of bursts.values()) timers.clearTimeout(burst.timer)
      bursts.clear()
      for (const key of [...shown.keys()]) dismiss(key)
    }
  }
}
