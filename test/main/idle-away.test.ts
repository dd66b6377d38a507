import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { powerMonitor as PowerMonitor } from 'electron'
import type { PresenceStatus } from '../../app/api/contract.js'
import { IdleAwayPolicy, watchIdle, type PowerMonitorLike } from '../../main/idle-away.js'

// Compile-time only: Electron's powerMonitor fits what watchIdle takes.
export const _fits = (p: typeof PowerMonitor): PowerMonitorLike => p

function policy(status: PresenceStatus = 'available', thresholdS?: number) {
  const published: PresenceStatus[] = []
  const p = new IdleAwayPolicy({ status, thresholdS, setPresence: (s) => void published.push(s) })
  return { p, published }
}

test('idle past the threshold (5 min by default) sets away; input again restores available', () => {
  const { p, published } = policy()
  p.tick(0)
  p.tick(299)
  assert.deepEqual(published, [])
  p.tick(300)
  assert.deepEqual(published, ['away'])
  assert.equal(p.status, 'away')
  assert.equal(p.autoAway, true)
  p.tick(315) // still idle: not published twice
  assert.deepEqual(published, ['away'])
  p.tick(2)
  assert.deepEqual(published, ['away', 'available'])
  assert.equal(p.status, 'available')
  assert.equal(p.autoAway, false)
})

test('the threshold is configurable', () => {
  const { p, published } = policy('available', 60)
  p.tick(59)
  assert.deepEqual(published, [])
  p.tick(60)
  assert.deepEqual(published, ['away'])
})

test('locking the screen sets away at once; only unlocking restores, whatever the idle time', () => {
  const { p, published } = policy()
  p.event('lock-screen')
  assert.deepEqual(published, ['away'])
  p.tick(0) // a locked screen still counts as away even if the idle counter reads low
  p.event('user-activity')
  assert.deepEqual(published, ['away'])
  p.tick(900)
  p.event('unlock-screen')
  assert.deepEqual(published, ['away', 'available'])
})

test('suspend sets away; after resume it waits for input before restoring', () => {
  const { p, published } = policy()
  p.event('suspend')
  assert.deepEqual(published, ['away'])
  p.event('resume')
  assert.deepEqual(published, ['away'])
  p.tick(1)
  assert.deepEqual(published, ['away', 'available'])
})

test('busy, offline and an away set by hand are never overridden nor "restored"', () => {
  for (const status of ['busy', 'offline', 'away'] as const) {
    const { p, published } = policy(status)
    p.tick(10_000)
    p.event('lock-screen')
    p.event('suspend')
    p.event('resume')
    p.event('unlock-screen')
    p.tick(0)
    assert.deepEqual(published, [], status)
    assert.equal(p.status, status)
  }
})

test('a status the user picks while auto-away is kept: nothing is restored on return', () => {
  for (const chosen of ['busy', 'offline', 'away', 'available'] as const) {
    const { p, published } = policy()
    p.tick(400)
    assert.deepEqual(published, ['away'])
    p.userChangedStatus(chosen)
    assert.equal(p.autoAway, false)
    if (chosen === 'available') {
      // Still idle: going away again is right, and the return restores it.
      p.tick(410)
      assert.deepEqual(published, ['away', 'away'])
      p.tick(1)
      assert.deepEqual(published, ['away', 'away', 'available'])
      continue
    }
    p.tick(1)
    p.event('unlock-screen')
    assert.deepEqual(published, ['away'], chosen)
    assert.equal(p.status, chosen)
  }
})

test('a user who switches from busy to available is not sent away on the spot, but on the next idle tick', () => {
  const { p, published } = policy('busy')
  p.tick(400)
  p.userChangedStatus('available')
  assert.deepEqual(published, [])
  p.tick(400)
  assert.deepEqual(published, ['away'])
})

test('a failing publish is reported and does not break the policy', async () => {
  const errors: unknown[] = []
  const p = new IdleAwayPolicy({
    status: 'available',
    setPresence: async () => {
      throw new Error('PEER_NOT_RUNNING')
    },
    onError: (err) => errors.push(err)
  })
  p.tick(301)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(errors.length, 1)
  assert.equal(p.status, 'away')
  const q = new IdleAwayPolicy({
    status: 'available',
    setPresence: () => {
      throw new Error('sync')
    },
    onError: (err) => errors.push(err)
  })
  q.event('lock-screen')
  assert.equal(errors.length, 2)
})

class FakePowerMonitor extends EventEmitter implements PowerMonitorLike {
  idle = 0
  getSystemIdleTime(): number {
    return this.idle
  }
}

test('watchIdle polls idle time on the clock and forwards lock, sleep and macOS activity events', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] })
  const monitor = new FakePowerMonitor()
  const { p, published } = policy()
  const watch = watchIdle(p, monitor, { intervalMs: 15_000 })

  monitor.idle = 400
  t.mock.timers.tick(14_999)
  assert.deepEqual(published, [])
  t.mock.timers.tick(1)
  assert.deepEqual(published, ['away'])
  monitor.emit('user-did-become-active')
  assert.deepEqual(published, ['away', 'available'])

  monitor.emit('lock-screen')
  monitor.emit('unlock-screen')
  monitor.emit('suspend')
  monitor.idle = 0
  monitor.emit('resume')
  t.mock.timers.tick(15_000)
  assert.deepEqual(published, ['away', 'available', 'away', 'available', 'away', 'available'])

  watch.stop()
  assert.equal(monitor.listenerCount('lock-screen'), 0)
  monitor.idle = 1000
  t.mock.timers.tick(60_000)
  monitor.emit('suspend')
  assert.equal(published.length, 6)
})
