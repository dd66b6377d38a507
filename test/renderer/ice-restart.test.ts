import assert from 'node:assert/strict'
import { test } from 'node:test'
import { holdOffIceFailureHangup, restartIce, type ReinvitingSession } from '../../renderer/src/phone/ice-restart.js'

type Handlers = { succeeded: () => void; failed: (response?: { status_code?: number; reason_phrase?: string }) => void }

/** The RTCSession internals restartIce drives, as JsSIP 3.13 has them. */
function session(over: { established?: boolean; ready?: boolean; signalingState?: string } = {}) {
  const s = {
    sent: [] as { rtcOfferConstraints: unknown; eventHandlers: Handlers }[],
    descriptions: [] as unknown[],
    terminated: 0,
    _connectionPromiseQueue: Promise.resolve() as Promise<unknown>,
    connection: {
      signalingState: over.signalingState ?? 'have-local-offer',
      setLocalDescription(d: unknown) {
        s.descriptions.push(d)
        this.signalingState = 'stable'
        return Promise.resolve()
      }
    },
    isEnded: () => false,
    isEstablished: () => over.established ?? true,
    isReadyToReOffer: () => over.ready ?? true,
    terminate() {
      s.terminated++
    },
    _sendReinvite(o: { rtcOfferConstraints: unknown; eventHandlers: Handlers }) {
      s.sent.push(o)
    }
  }
  return s
}
const asSession = (s: ReturnType<typeof session>) => s as unknown as ReinvitingSession

test('an ICE restart is a re-INVITE whose offer asks for fresh ICE credentials', async () => {
  const s = session()
  const outcome = restartIce(asSession(s))
  assert.equal(s.sent.length, 1)
  assert.deepEqual(s.sent[0]?.rtcOfferConstraints, { iceRestart: true })
  s.sent[0]?.eventHandlers.succeeded()
  assert.deepEqual(await outcome, { ok: true })
})

test('491 (crossed re-INVITEs) is reported, the call is not hung up, and our pending offer is rolled back', async () => {
  const s = session()
  const outcome = restartIce(asSession(s))
  s.sent[0]?.eventHandlers.failed({ status_code: 491, reason_phrase: 'Request Pending' })
  assert.deepEqual(await outcome, { ok: false, status: 491, reason: '491 Request Pending' })
  await s._connectionPromiseQueue
  assert.deepEqual(s.descriptions, [{ type: 'rollback' }])
  assert.equal(s.terminated, 0)
})

test('nothing to roll back when the offer was never applied', async () => {
  const s = session({ signalingState: 'stable' })
  const outcome = restartIce(asSession(s))
  s.sent[0]?.eventHandlers.failed()
  assert.deepEqual(await outcome, { ok: false, status: null, reason: 'the offer could not be made' })
  await s._connectionPromiseQueue
  assert.deepEqual(s.descriptions, [])
})

test('not sent while another offer/answer is in progress or before the call is established', async () => {
  for (const s of [session({ ready: false }), session({ established: false })]) {
    const pending = restartIce(asSession(s))
    assert.equal(s.sent.length, 0)
    const outcome = await pending
    assert.equal(outcome.ok === false && outcome.status, null)
  }
})

test('an ICE failure does not hang up while the failover machine works on it; every other termination passes', () => {
  const ended: unknown[] = []
  const s = { terminate: (options?: unknown) => void ended.push(options) }
  let working = true
  holdOffIceFailureHangup(s, () => working)
  // What JsSIP does itself when ICE fails (RTCSession._createRTCConnection):
  s.terminate({ cause: 'RTP Timeout', status_code: 408, reason_phrase: 'RTP Timeout' })
  assert.deepEqual(ended, [])
  s.terminate()
  s.terminate({ status_code: 603, reason_phrase: 'Decline' })
  assert.equal(ended.length, 2)
  working = false
  s.terminate({ cause: 'RTP Timeout', status_code: 408, reason_phrase: 'RTP Timeout' })
  assert.equal(ended.length, 3)
})
