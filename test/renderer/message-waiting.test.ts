import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MailboxStatus, Voicemail } from '../../app/api/contract.js'
import { listIsStale, mergeVoicemail, messageWaiting, waitingCount } from '../../renderer/src/message-waiting.js'

const vm = (id: string, over: Partial<Voicemail> = {}): Voicemail => ({
  id,
  direction: 'in',
  peer: 'sip:bob@example.org',
  peerName: null,
  at: '2025-01-02T03:04:05.000Z',
  durationMs: 3000,
  mime: 'audio/webm;codecs=opus',
  bytes: 9000,
  heard: false,
  state: 'received',
  identity: 'pinned',
  ...over
})
const status = (n: number, old = 0): MailboxStatus => ({
  voicemail: { new: n, old },
  lastFetchAt: null,
  lastFetchError: null,
  holder: { active: false, mailboxes: 0, envelopes: 0, bytes: 0, blobs: 0 }
})

test('message-waiting counts incoming voicemails: unheard are new, heard are old; ours to others count for neither', () => {
  const list = [vm('a'), vm('b', { heard: true }), vm('c'), vm('d', { direction: 'out', state: 'stored' }), vm('e', { direction: 'out', heard: true })]
  assert.deepEqual(messageWaiting(list), { new: 2, old: 1 })
  assert.deepEqual(messageWaiting([]), { new: 0, old: 0 })
})

test('the badge follows the list once loaded, mailbox.status before', () => {
  assert.equal(waitingCount(null, null), 0)
  assert.equal(waitingCount(status(3), null), 3)
  assert.equal(waitingCount(status(3), [vm('a')]), 1)
  assert.equal(waitingCount(null, [vm('a', { heard: true })]), 0)
})

test('a mailbox event whose count disagrees with the list means the list must be fetched again', () => {
  assert.equal(listIsStale(status(2), [vm('a')]), true)
  assert.equal(listIsStale(status(1), [vm('a')]), false)
  assert.equal(listIsStale(status(0), [vm('a', { heard: true })]), false)
  assert.equal(listIsStale(status(1), null), false, 'nothing loaded yet: the first load is on its way')
})

test('an event replaces the voicemail with the same id; the list stays newest first', () => {
  let list = [vm('a', { at: '2025-01-01T00:00:00.000Z' })]
  list = mergeVoicemail(list, vm('b', { at: '2025-01-03T00:00:00.000Z' }))
  list = mergeVoicemail(list, vm('c', { at: '2025-01-02T00:00:00.000Z' }))
  assert.deepEqual(list.map((v) => v.id), ['b', 'c', 'a'])
  list = mergeVoicemail(list, vm('c', { at: '2025-01-02T00:00:00.000Z', heard: true }))
  assert.deepEqual(list.map((v) => [v.id, v.heard]), [['b', false], ['c', true], ['a', false]])
})
