import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CallRecord } from '../../app/api/contract.js'
import { buildCallRecord, type CallLog } from '../../renderer/src/phone/call-record.js'

const t0 = Date.parse('2025-01-02T03:04:05.000Z')
const log = (over: Partial<CallLog>): CallLog => ({
  id: 'abc',
  direction: 'outgoing',
  peer: 'sip:bob@example.org',
  peerName: null,
  startedAt: t0,
  answeredAt: null,
  endedAt: t0 + 10_000,
  endedBy: 'remote',
  cause: 'Terminated',
  sipStatus: null,
  ...over
})

test('an answered call records its duration from the answer and validates against the contract', () => {
  const r = buildCallRecord(log({ answeredAt: t0 + 2_000, endedAt: t0 + 14_500, sipStatus: 200, endedBy: 'local', cause: 'Terminated' }))
  assert.equal(r.outcome, 'answered')
  assert.equal(r.durationS, 12.5)
  assert.equal(r.startedAt, '2025-01-02T03:04:05.000Z')
  assert.equal(r.answeredAt, '2025-01-02T03:04:07.000Z')
  assert.equal(r.endedAt, '2025-01-02T03:04:19.500Z')
  assert.equal(CallRecord.safeParse(r).success, true)
})

test('incoming: declined by the user, missed when the caller gave up or we were busy', () => {
  assert.equal(buildCallRecord(log({ direction: 'incoming', endedBy: 'local', cause: 'Rejected', sipStatus: 603 })).outcome, 'declined')
  assert.equal(buildCallRecord(log({ direction: 'incoming', endedBy: 'remote', cause: 'Canceled' })).outcome, 'missed')
  assert.equal(buildCallRecord(log({ direction: 'incoming', endedBy: 'local', cause: 'Busy', sipStatus: 486 })).outcome, 'missed')
  assert.equal(buildCallRecord(log({ direction: 'incoming', endedBy: 'system', cause: 'No Answer' })).outcome, 'missed')
})

test('outgoing: cancelled by the caller, declined by the callee (603), otherwise failed', () => {
  assert.equal(buildCallRecord(log({ endedBy: 'local', cause: 'Canceled' })).outcome, 'cancelled')
  assert.equal(buildCallRecord(log({ endedBy: 'remote', cause: 'Rejected', sipStatus: 603 })).outcome, 'declined')
  assert.equal(buildCallRecord(log({ endedBy: 'remote', cause: 'Busy', sipStatus: 486 })).outcome, 'failed')
  assert.equal(buildCallRecord(log({ endedBy: 'system', cause: 'Request Timeout', sipStatus: 408 })).outcome, 'failed')
  const unanswered = buildCallRecord(log({ endedBy: 'remote', cause: 'Not Found', sipStatus: 404 }))
  assert.equal(unanswered.durationS, null)
  assert.equal(unanswered.answeredAt, null)
  assert.equal(unanswered.sipStatus, 404)
})

test('over-long ids and names are cut to what the contract takes', () => {
  const r = buildCallRecord(log({ id: 'x'.repeat(300), peerName: 'n'.repeat(300) }))
  assert.equal(CallRecord.safeParse(r).success, true)
})
