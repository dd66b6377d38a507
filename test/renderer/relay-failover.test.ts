import assert from 'node:assert/strict'
import { test } from 'node:test'
import { linkState, RelayFailover, type FailoverAction } from '../../renderer/src/phone/relay-failover.js'

/** A machine with the default timings; `random` fixed so glare retries are predictable. */
function machine(over: { relayPlanned?: boolean; random?: () => number } = {}) {
  return new RelayFailover({ relayPlanned: over.relayPlanned ?? false, random: over.random ?? (() => 0.5) })
}
const types = (actions: FailoverAction[]) => actions.map((a) => a.type)

/** Connected at t=0 over the given path. */
function up(m: RelayFailover, localRelayed: boolean): void {
  m.ice('checking', 0)
  m.ice('connected', 0)
  m.path(localRelayed)
  assert.equal(m.state, 'up')
}

test('the link state joins the ICE and DTLS states: failed or closed on either side wins, then disconnected', () => {
  assert.equal(linkState('connected', 'connected'), 'connected')
  assert.equal(linkState('completed', 'connected'), 'connected')
  assert.equal(linkState('disconnected', 'connected'), 'disconnected')
  assert.equal(linkState('connected', 'disconnected'), 'disconnected')
  assert.equal(linkState('disconnected', 'failed'), 'failed')
  assert.equal(linkState('failed', 'connecting'), 'failed')
  assert.equal(linkState('closed', 'closed'), 'closed')
  assert.equal(linkState('checking', 'connecting'), 'checking')
  assert.equal(linkState('new', 'new'), 'new')
})

test('our relay stops carrying media: after 2 s disconnected we fail over, and recovery ends the interruption', () => {
  const m = machine()
  up(m, true)
  assert.deepEqual(m.ice('disconnected', 10_000), [])
  assert.equal(m.state, 'interrupted')
  assert.equal(m.deadline, 12_000)
  assert.deepEqual(m.tick(11_999), [], 'not before the grace time')
  assert.deepEqual(types(m.tick(12_000)), ['failover'])
  assert.equal(m.state, 'recovering')
  assert.deepEqual(m.ice('checking', 12_300), [])
  assert.deepEqual(m.ice('connected', 12_900), [{ type: 'recovered', by: 'local', interruptedMs: 2_900 }])
  assert.equal(m.state, 'up')
  assert.equal(m.deadline, null)
})

test('a disconnection shorter than 2 s heals by itself: nothing is done or recorded', () => {
  const m = machine()
  up(m, true)
  m.ice('disconnected', 5_000)
  assert.deepEqual(m.ice('connected', 6_500), [])
  assert.equal(m.state, 'up')
  assert.deepEqual(m.tick(7_000), [])
})

test('failed fails over at once, without waiting for the grace time', () => {
  const m = machine()
  up(m, true)
  m.ice('disconnected', 1_000)
  assert.deepEqual(types(m.ice('failed', 1_500)), ['failover'])
  assert.deepEqual(m.ice('connected', 2_000), [{ type: 'recovered', by: 'local', interruptedMs: 1_000 }], 'media stopped at the disconnection, not at the failure')
  const m2 = machine()
  up(m2, true)
  assert.deepEqual(types(m2.ice('failed', 3_000)), ['failover'])
})

test('not relayed here: the far end, whose relay died, restarts; we restart ourselves only 8 s after media stopped', () => {
  const m = machine()
  up(m, false)
  m.ice('disconnected', 10_000)
  assert.deepEqual(m.tick(12_000), [])
  assert.equal(m.state, 'awaiting-remote')
  assert.equal(m.deadline, 18_000)
  assert.deepEqual(m.ice('failed', 14_000), [], 'failed while waiting changes nothing')
  assert.deepEqual(types(m.tick(18_000)), ['restart'])
  assert.equal(m.state, 'recovering')
  assert.deepEqual(m.ice('connected', 18_400), [{ type: 'recovered', by: 'local', interruptedMs: 8_400 }])
})

test('the far end restarts in time: recovered by the remote', () => {
  const m = machine()
  up(m, false)
  m.ice('disconnected', 10_000)
  m.tick(12_000)
  m.ice('checking', 13_000)
  assert.deepEqual(m.ice('connected', 13_200), [{ type: 'recovered', by: 'remote', interruptedMs: 3_200 }])
})

test('glare: a restart answered 491 is retried after a random 0.5–2 s, without counting as another failover', () => {
  const m = machine({ random: () => 0 })
  up(m, true)
  m.ice('failed', 1_000)
  assert.deepEqual(m.restartFailed(491, 1_200), [])
  assert.equal(m.deadline, 1_700, '0.5 s at the low end')
  assert.deepEqual(types(m.tick(1_700)), ['restart'])
  const late = machine({ random: () => 0.999_999 })
  up(late, true)
  late.ice('failed', 1_000)
  late.restartFailed(491, 1_200)
  assert.ok(Math.abs((late.deadline ?? 0) - 3_200) < 1, '2 s at the high end')
  // An offer/answer already in progress (null: the session was not ready) is the same wait.
  const busy = machine({ random: () => 0.5 })
  up(busy, false)
  busy.ice('failed', 0)
  busy.tick(8_000)
  busy.restartFailed(null, 8_000)
  assert.equal(busy.deadline, 9_250)
  assert.deepEqual(types(busy.tick(9_250)), ['restart'])
})

test('other failures of the restart are left to the recovery timeout', () => {
  const m = machine()
  up(m, true)
  m.ice('failed', 0)
  assert.deepEqual(m.restartFailed(488, 100), [])
  assert.equal(m.deadline, 8_000)
})

test('no recovery 8 s after a failover: the next backup is tried, then the machine gives up after 4 attempts', () => {
  const m = machine()
  up(m, true)
  assert.deepEqual(types(m.ice('failed', 0)), ['failover'])
  assert.deepEqual(types(m.tick(8_000)), ['failover'])
  assert.deepEqual(types(m.tick(16_000)), ['failover'])
  assert.deepEqual(types(m.tick(24_000)), ['failover'])
  assert.deepEqual(m.tick(32_000), [])
  assert.equal(m.state, 'gave-up')
  assert.equal(m.deadline, null)
  assert.deepEqual(m.ice('connected', 40_000), [{ type: 'recovered', by: 'local', interruptedMs: 40_000 }])
  // A later outage starts over with a fresh count.
  assert.deepEqual(types(m.ice('failed', 50_000)), ['failover'])
})

test('never connected: a failure counts as relayed when the plan gave us a relay, else we wait for the far end', () => {
  const planned = machine({ relayPlanned: true })
  planned.ice('checking', 0)
  assert.deepEqual(types(planned.ice('failed', 5_000)), ['failover'])
  const none = machine({ relayPlanned: false })
  none.ice('checking', 0)
  assert.deepEqual(none.ice('failed', 5_000), [])
  assert.equal(none.state, 'awaiting-remote')
  assert.equal(none.deadline, 13_000)
  const later = machine()
  later.ice('checking', 0)
  later.planned(true)
  assert.deepEqual(types(later.ice('failed', 1)), ['failover'])
})

test('the last path seen while connected decides, not the plan', () => {
  const m = machine({ relayPlanned: true })
  up(m, false)
  assert.deepEqual(m.ice('failed', 1_000), [])
  assert.equal(m.state, 'awaiting-remote')
})

test('closed stops everything', () => {
  const m = machine()
  up(m, true)
  m.ice('disconnected', 0)
  m.ice('closed', 1_000)
  assert.equal(m.state, 'closed')
  assert.equal(m.deadline, null)
  assert.deepEqual(m.tick(10_000), [])
  assert.deepEqual(m.ice('connected', 11_000), [])
})

test('not relayed here but the plan holds a relay: after the grace we fail over, since the dead relay may be ours too', () => {
  // Both ends' TURN allocations on one super-node that died: the side whose selected
  // candidate was prflx must not restart on the dead relay's servers. The peer keeps
  // a primary that still answers its STUN probe, so this costs nothing when it lives.
  const m = machine({ relayPlanned: true })
  up(m, false)
  m.ice('disconnected', 10_000)
  assert.deepEqual(m.tick(12_000), [])
  assert.equal(m.state, 'awaiting-remote')
  assert.deepEqual(types(m.tick(18_000)), ['failover'])
  assert.deepEqual(types(m.tick(26_000)), ['failover'], 'escalates by failing over again')
})
