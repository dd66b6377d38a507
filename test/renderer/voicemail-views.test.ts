import assert from 'node:assert/strict'
import { register } from 'node:module'
import { test } from 'node:test'
import * as React from 'react'
import { createElement as h } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import type { ApiClient } from '../../app/api/client.js'
import { ChatMessage, type Identity, type MailboxStatus, type Voicemail as VoicemailEntry } from '../../app/api/contract.js'
import type { MailboxView } from '../../renderer/src/api.js'
import type { AudioDevices } from '../../renderer/src/phone/devices.js'
import type { Recording, VoicemailRecorder } from '../../renderer/src/phone/voicemail-recorder.js'

// The views import their stylesheets the Vite way; Node has no loader for CSS.
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function load(url, context, next) { return url.endsWith('.css') ? { format: 'module', source: '', shortCircuit: true } : next(url, context) }`
  )}`
)
Object.assign(globalThis, { React })
const { ApiContext } = await import('../../renderer/src/api.js')
const { ChatMessageItem } = await import('../../renderer/src/views/Chat.js')
const { Sidebar } = await import('../../renderer/src/views/Sidebar.js')
const { Voicemail, VoicemailItem, checkSummary } = await import('../../renderer/src/views/Voicemail.js')
const { LeaveVoicemail, VoicemailStage } = await import('../../renderer/src/views/LeaveVoicemail.js')

const textOf = (html: string, testId: string) => new RegExp(`data-testid="${testId}"[^>]*>([^<]*)<`).exec(html)?.[1]
const plain = (html: string) => html.replace(/<[^>]+>/g, '')

const message = (over: Partial<ChatMessage>): ChatMessage =>
  ChatMessage.parse({
    id: 'm1',
    direction: 'out',
    peer: 'sip:bob@example.org',
    from: 'sip:alice@example.org',
    fromName: null,
    to: 'sip:bob@example.org',
    text: 'hi',
    at: '2025-01-02T03:04:05.000Z',
    state: 'delivered',
    sipStatus: 200,
    identity: 'self',
    read: true,
    ...over
  })

test('chat: a mailed outgoing message shows "stored for delivery", distinct from delivered and failed', () => {
  const stored = renderToStaticMarkup(h(ChatMessageItem, { m: message({ state: 'stored', sipStatus: null }) }))
  assert.match(stored, /data-state="stored"/)
  assert.match(stored, /message--stored/)
  assert.equal(textOf(stored, 'message-state')?.replace(/^ · /, ''), 'stored for delivery')
  const delivered = renderToStaticMarkup(h(ChatMessageItem, { m: message({}) }))
  assert.match(plain(delivered), /· delivered/)
  assert.doesNotMatch(plain(delivered), /stored/)
  assert.match(plain(renderToStaticMarkup(h(ChatMessageItem, { m: message({ state: 'failed' }) }))), /not delivered/)
})

test('chat: an incoming message from the mailbox says it was sent while we were offline; a live one does not', () => {
  const incoming = { direction: 'in' as const, state: 'received' as const, from: 'sip:bob@example.org', to: 'sip:alice@example.org', identity: 'pinned' as const }
  const mailed = renderToStaticMarkup(h(ChatMessageItem, { m: message({ ...incoming, mailed: true }) }))
  assert.match(mailed, /data-testid="message-mailed"/)
  assert.match(plain(mailed), /sent while you were offline/)
  assert.match(mailed, /data-mailed="true"/)
  for (const m of [message({ ...incoming, mailed: false }), message(incoming), message({ mailed: true })]) {
    assert.doesNotMatch(renderToStaticMarkup(h(ChatMessageItem, { m })), /message-mailed|offline/)
  }
})

const identity: Identity = { aor: 'sip:alice@example.org', displayName: 'Alice', publicKey: null, fingerprint: null, state: 'running' }
const sidebar = (waiting: number) =>
  renderToStaticMarkup(
    h(Sidebar, {
      identity,
      presence: null,
      onPresence: () => undefined,
      registration: 'registered',
      registrationError: null,
      dial: '',
      onDial: () => undefined,
      onCall: () => undefined,
      canCall: true,
      view: 'buddies',
      onView: () => undefined,
      unread: 0,
      waiting
    })
  )

test('sidebar: a Voicemail view whose badge counts new voicemails, none when there are none', () => {
  const two = sidebar(2)
  assert.match(two, /data-testid="nav-voicemail"/)
  assert.equal(textOf(two, 'mwi-badge'), '2')
  assert.match(two, /aria-label="2 new voice messages"/)
  assert.match(sidebar(1), /aria-label="1 new voice message"/)
  assert.doesNotMatch(sidebar(0), /mwi-badge/)
})

const vm = (id: string, over: Partial<VoicemailEntry> = {}): VoicemailEntry => ({
  id,
  direction: 'in',
  peer: 'sip:bob@example.org',
  peerName: 'Bob',
  at: '2025-01-02T03:04:05.000Z',
  durationMs: 7_400,
  mime: 'audio/webm;codecs=opus',
  bytes: 22_000,
  heard: false,
  state: 'received',
  identity: 'pinned',
  ...over
})
const item = (v: VoicemailEntry) => renderToStaticMarkup(h(VoicemailItem, { v, playing: false, onPlay: () => undefined }))

test('voicemail list: who, how long, new or heard; ours show their delivery state; Play is labelled', () => {
  const fresh = item(vm('a'))
  assert.equal(textOf(fresh, 'voicemail-status'), 'new')
  assert.match(plain(fresh), /Bob/)
  assert.match(plain(fresh), /0:07/)
  assert.match(fresh, /datetime="2025-01-02T03:04:05.000Z"/i)
  assert.match(fresh, /aria-label="Play the voice message from Bob"/)
  assert.equal(textOf(item(vm('b', { heard: true })), 'voicemail-status'), 'heard')
  const stored = item(vm('c', { direction: 'out', state: 'stored' }))
  assert.equal(textOf(stored, 'voicemail-status'), 'stored for delivery')
  assert.match(stored, /aria-label="Play the voice message to Bob"/)
  assert.equal(textOf(item(vm('d', { direction: 'out', state: 'failed' })), 'voicemail-status'), 'not stored')
  assert.match(plain(item(vm('e', { identity: 'changed' }))), /sender key changed!/)
})

const status: MailboxStatus = {
  voicemail: { new: 5, old: 5 },
  lastFetchAt: '2025-01-02T03:00:00.000Z',
  lastFetchError: 'no holder answered',
  holder: { active: false, mailboxes: 0, envelopes: 0, bytes: 0, blobs: 0 }
}
const mailbox = (voicemails: VoicemailEntry[] | null): MailboxView => ({
  status,
  voicemails,
  waiting: 0,
  upsert: () => undefined,
  audio: async () => ({ mime: 'audio/webm', audio: '' }),
  markHeard: async () => undefined,
  check: async () => ({ received: 0, voicemails: 0 })
})
const devices = {} as AudioDevices

test('voicemail view: counts from the list, the last fetch and its error, Check mailbox now, one row each', () => {
  const html = renderToStaticMarkup(h(Voicemail, { mailbox: mailbox([vm('a'), vm('b', { heard: true }), vm('c', { direction: 'out', state: 'stored' })]), devices }))
  assert.match(plain(html), /1 new, 1 heard/)
  assert.equal([...html.matchAll(/data-testid="voicemail-item"/g)].length, 3)
  assert.match(html, /data-testid="mailbox-check"[^>]*>Check mailbox now</)
  assert.match(plain(html), /The last mailbox fetch failed: no holder answered/)
  assert.doesNotMatch(html, /<audio/, 'no player until something is played')
  assert.match(plain(renderToStaticMarkup(h(Voicemail, { mailbox: mailbox(null), devices }))), /5 new, 5 heard/, 'mailbox.status until the list is in')
  assert.match(plain(renderToStaticMarkup(h(Voicemail, { mailbox: mailbox([]), devices }))), /No voice messages/)
})

test('check summary: what the mailbox fetch brought', () => {
  assert.equal(checkSummary({ received: 0, voicemails: 0 }), 'Nothing new in your mailbox.')
  assert.equal(checkSummary({ received: 2, voicemails: 1 }), 'Fetched 2 messages and 1 voice message.')
  assert.equal(checkSummary({ received: 0, voicemails: 3 }), 'Fetched 3 voice messages.')
})

test('leave a voice message: the offer after an unanswered call names who, with the 2-minute limit', () => {
  const api = { on: () => () => undefined, call: async () => undefined } as unknown as ApiClient
  const html = renderToStaticMarkup(
    h(ApiContext, { value: api }, h(LeaveVoicemail, { target: { callId: 'c1', peer: 'sip:bob@example.org', peerName: null }, devices, inCall: false, onSent: () => undefined, onClose: () => undefined }))
  )
  assert.match(html, /data-stage="offer"/)
  assert.match(plain(html), /bob@example\.org did not answer/)
  assert.match(html, /data-testid="voicemail-record"[^>]*>Leave a voice message</)
  assert.match(html, /data-testid="voicemail-dismiss"/)
  assert.match(plain(html), /up to 2:00/)
})

test('leave a voice message: the timer while recording, why it stopped, and the state the peer returned', () => {
  const recorder = { elapsedMs: () => 65_400 } as VoicemailRecorder
  const recording = html(h(VoicemailStage, { stage: { kind: 'recording', recorder }, who: 'Bob' }))
  assert.equal(textOf(recording, 'voicemail-timer'), '1:05')
  assert.match(plain(recording), /\/ 2:00/)
  const full: Recording = { blob: new Blob([]), mime: 'audio/webm;codecs=opus', bytes: 1, durationMs: 120_000, stoppedBy: 'time-limit' }
  assert.match(plain(html(h(VoicemailStage, { stage: { kind: 'recorded', recording: full }, who: 'Bob' }))), /Recorded 2:00 \(stopped at the 2-minute limit\)/)
  assert.match(plain(html(h(VoicemailStage, { stage: { kind: 'recorded', recording: { ...full, stoppedBy: 'size-limit' } }, who: 'Bob' }))), /size limit/)
  const stored = html(h(VoicemailStage, { stage: { kind: 'sent', voicemail: vm('x', { direction: 'out', state: 'stored' }) }, who: 'Bob' }))
  assert.match(stored, /data-testid="voicemail-result" data-state="stored"/)
  assert.match(plain(stored), /Stored for delivery/)
  const failed = html(h(VoicemailStage, { stage: { kind: 'sent', voicemail: vm('x', { direction: 'out', state: 'failed' }) }, who: 'Bob' }))
  assert.match(failed, /role="alert"[^>]*data-testid="voicemail-result" data-state="failed"/)
  const thrown = html(h(VoicemailStage, { stage: { kind: 'error', message: 'Not sent: MAILBOX_FULL' }, who: 'Bob' }))
  assert.match(thrown, /data-state="failed"/)
  assert.match(plain(thrown), /MAILBOX_FULL/)
})

function html(el: React.ReactElement): string {
  return renderToStaticMarkup(el)
}
