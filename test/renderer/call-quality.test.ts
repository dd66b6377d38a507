import assert from 'node:assert/strict'
import { test } from 'node:test'
import { computeCallQuality } from '../../renderer/src/phone/call-quality.js'

// Shapes as Chromium's RTCPeerConnection.getStats() reports them (times in seconds).
const report = (lost: number, received: number) => [
  { type: 'transport', id: 'T01', selectedCandidatePairId: 'CP1' },
  { type: 'candidate-pair', id: 'CP0', state: 'failed', nominated: false, currentRoundTripTime: 9 },
  { type: 'candidate-pair', id: 'CP1', state: 'succeeded', nominated: true, currentRoundTripTime: 0.042 },
  { type: 'inbound-rtp', id: 'IV', kind: 'video', jitter: 5, packetsLost: 999, packetsReceived: 1 },
  { type: 'inbound-rtp', id: 'IA', kind: 'audio', jitter: 0.0125, packetsLost: lost, packetsReceived: received },
  { type: 'remote-inbound-rtp', id: 'RIA', kind: 'audio', roundTripTime: 0.5, fractionLost: 0.5 }
]

test('round trip from the selected candidate pair, jitter from inbound audio, in milliseconds', () => {
  const q = computeCallQuality(report(0, 100), null)
  assert.equal(q.rttMs, 42)
  assert.equal(q.jitterMs, 12.5)
  assert.equal(q.lossPct, 0)
})

test('loss is measured over the interval since the previous sample', () => {
  const first = computeCallQuality(report(10, 90), null)
  assert.equal(first.lossPct, 10) // cumulative: nothing to compare with yet
  const second = computeCallQuality(report(15, 135), first.sample)
  assert.equal(second.lossPct, 10) // 5 lost of 50 in the last second
  const third = computeCallQuality(report(15, 185), second.sample)
  assert.equal(third.lossPct, 0)
})

test('no packets in the interval (on hold) gives no loss figure rather than 0 %', () => {
  const first = computeCallQuality(report(0, 100), null)
  assert.equal(computeCallQuality(report(0, 100), first.sample).lossPct, null)
})

test('falls back to the remote report round trip without a selected pair; empty stats give nulls', () => {
  const q = computeCallQuality([{ type: 'remote-inbound-rtp', id: 'R', kind: 'audio', roundTripTime: 0.08 }], null)
  assert.equal(q.rttMs, 80)
  assert.deepEqual(computeCallQuality([], null), { rttMs: null, jitterMs: null, lossPct: null, sample: null })
})
