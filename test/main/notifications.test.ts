import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Notification } from 'electron'
import type { CallRecord, ChatMessage, Voicemail } from '../../app/api/contract.js'
import {
  incomingCallNotification,
  messageNotification,
  missedCallNotification,
  setupNotifications,
  voicemailNotification,
  type NotificationCtor,
  type NotificationOptionsLike,
  type SetupNotificationsOptions
} from '../../main/notifications.js'

// Compile-time only: Electron's Notification class fits what main.ts passes.
export const _fits: (N: typeof Notification) => NotificationCtor = (N) => N

const msg = (over: Partial<ChatMessage> = {}): ChatMessage => ({
  id: 'm1',
  direction: 'in',
  peer: 'sip:alice@example.org',
  from: 'sip:alice@example.org',
  fromName: 'Alice',
  to: 'sip:bob@example.org',
  text: 'hello',
  at: '2026-01-01T00:00:00.000Z',
  state: 'received',
  sipStatus: null,
  identity: 'pinned',
  read: false,
  ...over
})

const call = (over: Partial<CallRecord> = {}): CallRecord => ({
  id: 'c1',
  direction: 'incoming',
  peer: 'sip:alice@example.org',
  peerName: 'Alice',
  startedAt: '2026-01-01T00:00:00.000Z',
  answeredAt: null,
  endedAt: '2026-01-01T00:00:30.000Z',
  outcome: 'missed',
  sipStatus: 487,
  durationS: null,
  ...over
})

const vm = (over: Partial<Voicemail> = {}): Voicemail => ({
  id: 'v1',
  direction: 'in',
  peer: 'sip:alice@example.org',
  peerName: null,
  at: '2026-01-01T00:00:00.000Z',
  durationMs: 12_400,
  mime: 'audio/webm',
  bytes: 4000,
  heard: false,
  state: 'received',
  identity: 'pinned',
  ...over
})

const linux = { platform: 'linux' as const, muted: false }

test('model: incoming call has Answer/Decline only on macOS and Windows, stays up, routes to the call', () => {
  const incoming = { callId: 'c 1', peer: 'sip:alice@example.org', peerName: 'Alice' }
  for (const platform of ['darwin', 'win32'] as const) assert.deepEqual(incomingCallNotification(incoming, { platform, muted: false }).actions, ['answer', 'decline'])
  const spec = incomingCallNotification(incoming, linux)
  assert.deepEqual(spec, {
    key: 'call:c 1',
    title: 'Alice',
    body: 'Incoming call from sip:alice@example.org',
    route: '#/call/c%201',
    silent: false,
    actions: [],
    urgency: 'critical',
    timeoutType: 'never'
  })
  assert.equal(incomingCallNotification(incoming, { platform: 'darwin', muted: true }).silent, true)
})

test('model: missed calls, new messages and voicemails; everything else is not notified', () => {
  assert.deepEqual(missedCallNotification(call(), linux), {
    key: 'call:c1',
    title: 'Alice',
    body: 'Missed call from sip:alice@example.org',
    route: '#/history',
    silent: false,
    actions: [],
    urgency: 'normal',
    timeoutType: 'default'
  })
  for (const outcome of ['answered', 'declined', 'cancelled'] as const) assert.equal(missedCallNotification(call({ outcome }), linux), null)
  assert.equal(missedCallNotification(call({ direction: 'outgoing', outcome: 'failed' }), linux), null)

  const m = messageNotification(msg(), 1, { platform: 'win32', muted: true })
  assert.deepEqual([m.key, m.title, m.body, m.route, m.silent], ['chat:sip:alice@example.org', 'Alice', 'hello', '#/chat/sip%3Aalice%40example.org', true])
  assert.equal(messageNotification(msg({ text: 'third' }), 3, linux).body, '3 new messages — third')
  // Remote text cannot reorder the notification with bidi overrides or run on forever.
  const hostile = messageNotification(msg({ fromName: 'Eve\u202etxt.exe', text: `x\u0007${'y'.repeat(500)}` }), 1, linux)
  assert.equal(hostile.title, 'Evetxt.exe')
  assert.equal(hostile.body.length, 200)
  assert.ok(hostile.body.startsWith('xyy') && hostile.body.endsWith('…'))

  assert.deepEqual(
    [voicemailNotification(vm(), linux)?.body, voicemailNotification(vm(), linux)?.route, voicemailNotification(vm(), linux)?.title],
    ['New voice message (12 s) from sip:alice@example.org', '#/voicemail', 'sip:alice@example.org']
  )
  assert.equal(voicemailNotification(vm({ heard: true }), linux), null)
  assert.equal(voicemailNotification(vm({ direction: 'out', state: 'stored' }), linux), null)
})

interface FakeNote {
  options: NotificationOptionsLike
  shown: number
  closed: number
  listeners: Record<string, Array<(...args: unknown[]) => void>>
  emit(event: string, ...args: unknown[]): void
}

function harness(over: Partial<SetupNotificationsOptions> = {}) {
  const notes: FakeNote[] = []
  const log: string[] = []
  const errors: unknown[] = []
  const queue: Array<{ fn: () => void; at: number; cancelled: boolean }> = []
  let now = 0
  let muted = false
  let focused = false
  const Fake = class {
    readonly note: FakeNote
    constructor(options: NotificationOptionsLike) {
      const listeners: FakeNote['listeners'] = {}
      this.note = {
        options,
        shown: 0,
        closed: 0,
        listeners,
        emit: (event, ...args) => {
          for (const l of listeners[event] ?? []) l(...args)
        }
      }
      notes.push(this.note)
    }
    static isSupported() {
      return true
    }
    show() {
      this.note.shown++
    }
    close() {
      this.note.closed++
      this.note.emit('close')
    }
    on(event: string, listener: (...args: unknown[]) => void) {
      ;(this.note.listeners[event] ??= []).push(listener)
      return this
    }
  }
  const n = setupNotifications({
    Notification: Fake as unknown as NotificationCtor,
    platform: 'darwin',
    isMuted: () => muted,
    isWindowFocused: () => focused,
    openRoute: (r) => log.push(`open ${r}`),
    answer: (id) => log.push(`answer ${id}`),
    decline: (id) => log.push(`decline ${id}`),
    coalesceMs: 5000,
    onError: (e) => errors.push(e),
    timers: {
      setTimeout: (fn, ms) => {
        const t = { fn, at: now + ms, cancelled: false }
        queue.push(t)
        return t
      },
      clearTimeout: (h) => {
        ;(h as { cancelled: boolean }).cancelled = true
      }
    },
    ...over
  })
  const advance = (ms: number) => {
    now += ms
    for (const t of queue.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.cancelled) continue
      if (t.at <= now) t.fn()
      else queue.push(t)
    }
  }
  const visible = () => notes.filter((x) => x.shown && !x.closed).map((x) => `${x.options.title}: ${x.options.body}`)
  return { n, notes, log, errors, advance, visible, mute: (m: boolean) => (muted = m), focus: (f: boolean) => (focused = f), pending: () => queue.filter((t) => !t.cancelled).length }
}

test('a burst of messages: the first at once, the rest coalesced into one per conversation per window', () => {
  const h = harness()
  h.n.event('message', msg({ id: 'a1', text: 'one' }))
  h.n.event('message', msg({ id: 'a2', text: 'two' }))
  h.n.event('message', msg({ id: 'a3', text: 'three' }))
  h.n.event('message', msg({ id: 'b1', peer: 'sip:carol@example.org', from: 'sip:carol@example.org', fromName: 'Carol', text: 'hi' }))
  assert.deepEqual(h.visible(), ['Alice: one', 'Carol: hi'])
  h.advance(4999)
  assert.equal(h.notes.length, 2)
  h.advance(1)
  // The coalesced one replaces Alice's first notification.
  assert.deepEqual(h.visible(), ['Carol: hi', 'Alice: 2 new messages — three'])
  h.n.event('message', msg({ id: 'a4', text: 'four' }))
  assert.deepEqual(h.visible(), ['Carol: hi', 'Alice: 2 new messages — three'], 'a coalesced notification opens a new window')
  h.advance(5000)
  assert.deepEqual(h.visible(), ['Carol: hi', 'Alice: four'])
  h.advance(5000)
  h.n.event('message', msg({ id: 'a5', text: 'five' }))
  assert.deepEqual(h.visible(), ['Carol: hi', 'Alice: five'], 'a quiet conversation notifies at once again')
  assert.equal(h.errors.length, 0)
})

test('the same message again, outgoing messages and read ones are not notified; reading a conversation takes its notification down', () => {
  const h = harness()
  h.n.event('message', msg({ id: 'x' }))
  h.advance(6000)
  h.n.event('message', msg({ id: 'x' }))
  h.n.event('message', msg({ id: 'y', direction: 'out', state: 'delivered' }))
  h.n.event('message', msg({ id: 'z', read: true }))
  h.advance(6000)
  assert.equal(h.notes.length, 1)
  h.n.event('buddy', {
    aor: 'sip:alice@example.org',
    displayName: null,
    presence: 'available',
    note: null,
    presenceUpdatedAt: null,
    identity: { state: 'pinned', publicKey: null, fingerprint: null, offeredKey: null, offeredFingerprint: null },
    unread: 0
  })
  assert.deepEqual(h.visible(), [])
})

test('click opens the route; muted shows silently; a focused window shows nothing; invalid events are reported', () => {
  const h = harness()
  h.mute(true)
  h.n.event('voicemail', vm())
  assert.equal(h.notes[0]!.options.silent, true)
  h.notes[0]!.emit('click')
  assert.deepEqual(h.log, ['open #/voicemail'])
  assert.deepEqual(h.visible(), [])
  h.focus(true)
  h.n.event('message', msg({ id: 'f' }))
  assert.equal(h.notes.length, 1)
  h.n.event('message', { id: 'bad' })
  assert.equal(h.errors.length, 1)
})

test('incoming call: Answer and Decline buttons call back with the call id; a missed call replaces the ringing one', () => {
  const h = harness()
  h.n.incomingCall({ callId: 'c1', peer: 'sip:alice@example.org', peerName: null })
  const ringing = h.notes[0]!
  assert.deepEqual(ringing.options.actions, [
    { type: 'button', text: 'Answer' },
    { type: 'button', text: 'Decline' }
  ])
  assert.equal(ringing.options.timeoutType, 'never')
  ringing.emit('action', { actionIndex: 0 }, 0)
  assert.deepEqual(h.log, ['answer c1'])
  assert.equal(ringing.closed, 1)

  h.n.incomingCall({ callId: 'c2', peer: 'sip:alice@example.org', peerName: null })
  h.notes[1]!.emit('action', { actionIndex: 1 }, 1)
  assert.deepEqual(h.log, ['answer c1', 'decline c2'])

  h.n.incomingCall({ callId: 'c3', peer: 'sip:alice@example.org', peerName: null })
  h.n.event('call', call({ id: 'c3' }))
  assert.equal(h.notes[2]!.closed, 1)
  assert.deepEqual(h.visible(), ['Alice: Missed call from sip:alice@example.org'])
  h.n.event('call', call({ id: 'c3' }))
  assert.equal(h.notes.length, 4, 'a record pushed twice is one missed call')

  h.n.incomingCall({ callId: 'c4', peer: 'sip:alice@example.org', peerName: null })
  h.n.callEnded('c4')
  assert.equal(h.notes[4]!.closed, 1)
  // Answered in another way (the window): the record takes the ringing notification down.
  h.n.incomingCall({ callId: 'c5', peer: 'sip:alice@example.org', peerName: null })
  h.n.event('call', call({ id: 'c5', outcome: 'answered', answeredAt: '2026-01-01T00:00:03.000Z', durationS: 27 }))
  assert.equal(h.notes[5]!.closed, 1)
  assert.equal(h.notes.length, 6)
})

test('close() takes everything down and cancels pending bursts', () => {
  const h = harness()
  h.n.event('message', msg({ id: '1' }))
  h.n.event('message', msg({ id: '2' }))
  h.n.incomingCall({ callId: 'c', peer: 'sip:alice@example.org', peerName: null })
  h.n.close()
  assert.deepEqual(h.visible(), [])
  assert.equal(h.pending(), 0)
  h.n.event('message', msg({ id: '3' }))
  assert.equal(h.notes.length, 2)
})
