import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { powerMonitor as PowerMonitor, powerSaveBlocker as PowerSaveBlocker } from 'electron'
import { setupPower, type PowerMonitorEvents, type PowerSaveBlockerLike } from '../../main/power.js'
import { Lab } from '../helpers/overlay.js'

// Compile-time only: Electron's objects fit what main.ts passes.
export const _fits: Array<(m: typeof PowerMonitor, b: typeof PowerSaveBlocker) => [PowerMonitorEvents, PowerSaveBlockerLike]> = [(m, b) => [m, b]]

function fakeBlocker() {
  let next = 1
  const active = new Map<number, string>()
  const blocker: PowerSaveBlockerLike = {
    start: (type) => {
      active.set(next, type)
      return next++
    },
    stop: (id) => {
      active.delete(id)
      return true
    },
    isStarted: (id) => active.has(id)
  }
  return { blocker, active }
}

const flush = () => new Promise((r) => setImmediate(r))

test('suspend pauses the peer, resume resumes it and tells the renderer to restart ICE; lock pauses nothing', async () => {
  const monitor = new EventEmitter()
  const log: string[] = []
  const { blocker } = fakeBlocker()
  const power = setupPower({
    powerMonitor: monitor,
    powerSaveBlocker: blocker,
    suspend: async () => void log.push('peer.suspend'),
    resume: async () => void log.push('peer.resume'),
    onResumed: () => log.push('renderer: restart ICE')
  })
  monitor.emit('lock-screen')
  monitor.emit('suspend')
  await flush()
  monitor.emit('resume')
  await flush()
  assert.deepEqual(log, ['peer.suspend', 'peer.resume', 'renderer: restart ICE'])
  // A resume with no suspend seen (some Linux sessions only report resume) still refreshes.
  monitor.emit('resume')
  await flush()
  assert.deepEqual(log.slice(3), ['peer.resume', 'renderer: restart ICE'])
  power.stop()
  monitor.emit('suspend')
  assert.equal(monitor.listenerCount('suspend'), 0)
  assert.equal(log.length, 5)
})

test('resume waits for a suspend still in progress, and a failed peer call is reported, not thrown', async () => {
  const monitor = new EventEmitter()
  const log: string[] = []
  const errors: string[] = []
  let release!: () => void
  const power = setupPower({
    powerMonitor: monitor,
    powerSaveBlocker: fakeBlocker().blocker,
    suspend: () => new Promise<void>((r) => (release = () => (log.push('suspended'), r()))),
    resume: async () => {
      log.push('resume')
      throw new Error('dht gone')
    },
    onResumed: () => log.push('ice'),
    onError: (err) => errors.push((err as Error).message)
  })
  monitor.emit('suspend')
  monitor.emit('resume')
  await flush()
  assert.deepEqual(log, [])
  release()
  await flush()
  await flush()
  // The renderer restarts ICE even when the overlay could not be refreshed: media may still work.
  assert.deepEqual(log, ['suspended', 'resume', 'ice'])
  assert.deepEqual(errors, ['dht gone'])
  power.stop()
})

test('app suspension is blocked while at least one call is active', () => {
  const monitor = new EventEmitter()
  const { blocker, active } = fakeBlocker()
  const power = setupPower({ powerMonitor: monitor, powerSaveBlocker: blocker, suspend: async () => {}, resume: async () => {}, onResumed: () => {} })
  assert.equal(active.size, 0)
  power.callStarted('a')
  power.callStarted('b')
  power.callStarted('a')
  assert.deepEqual([...active.values()], ['prevent-app-suspension'])
  power.callEnded('a')
  assert.equal(active.size, 1)
  power.callEnded('unknown')
  power.callEnded('b')
  assert.equal(active.size, 0)
  power.setActiveCalls(['x', 'y'])
  assert.equal(active.size, 1)
  power.setActiveCalls([])
  assert.equal(active.size, 0)
  power.callStarted('z')
  power.stop()
  assert.equal(active.size, 0, 'stop releases the blocker')
})

let lab: Lab
before(async () => {
  lab = await Lab.create(6)
})
after(() => lab.destroy())

test('a real peer: suspended and resumed by the power events, it announces again and receives messages', async () => {
  const alice = await lab.peer('sip:alice@power.example')
  const bob = await lab.peer('sip:bob@power.example')
  const monitor = new EventEmitter()
  const resumed: string[] = []
  const power = setupPower({
    powerMonitor: monitor,
    powerSaveBlocker: fakeBlocker().blocker,
    suspend: () => bob.suspend(),
    resume: () => bob.resume(),
    onResumed: () => resumed.push('ice')
  })
  const before = bob.status().registrations[0]!.lastAnnouncedAt!
  monitor.emit('suspend')
  await power.settled()
  assert.equal(bob.suspended, true)
  monitor.emit('resume')
  await power.settled()
  assert.equal(bob.suspended, false)
  assert.deepEqual(resumed, ['ice'])
  const after = bob.status().registrations[0]!
  assert.equal(after.state, 'announced')
  assert.ok(after.lastAnnouncedAt! > before, `re-announced on resume (${before} → ${after.lastAnnouncedAt})`)
  const sent = await alice.sendMessage('sip:bob@power.example', 'good morning')
  assert.equal(sent.status, 200)
  assert.equal(sent.delivery, 'direct')
  // Twice in a row is harmless, and a suspended peer still closes.
  await bob.suspend()
  await bob.suspend()
  await bob.close()
  await bob.resume()
  power.stop()
})
