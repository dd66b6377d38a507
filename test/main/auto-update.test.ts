import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { AppUpdater } from 'electron-updater'
import { silentLogger } from '../../app/log.js'
import { setupAutoUpdate, type AutoUpdaterLike } from '../../main/auto-update.js'

// Compile-time only: electron-updater's autoUpdater fits what setupAutoUpdate takes.
export const _fits = (u: AppUpdater): AutoUpdaterLike => u

class FakeUpdater extends EventEmitter implements AutoUpdaterLike {
  logger: AutoUpdaterLike['logger'] = null
  autoDownload = false
  autoInstallOnAppQuit = false
  checks = 0
  failWith: Error | null = null
  async checkForUpdatesAndNotify(): Promise<unknown> {
    this.checks++
    if (this.failWith) {
      this.emit('error', this.failWith)
      throw this.failWith
    }
    return null
  }
}

function fakeTimers() {
  const timers = new Map<number, { fn: () => void; ms: number }>()
  let next = 1
  return {
    timers,
    setInterval: (fn: () => void, ms: number) => {
      timers.set(next, { fn, ms })
      return next++
    },
    clearInterval: (id: unknown) => void timers.delete(id as number),
    fire: () => [...timers.values()].forEach((t) => t.fn())
  }
}

function setup(over: { enabled?: boolean; isPackaged?: boolean; hasFeed?: boolean } = {}) {
  const updater = new FakeUpdater()
  let loaded = 0
  const clock = fakeTimers()
  const handle = setupAutoUpdate({
    log: silentLogger(),
    enabled: over.enabled ?? true,
    isPackaged: over.isPackaged ?? true,
    hasFeed: () => over.hasFeed ?? true,
    updater: () => {
      loaded++
      return updater
    },
    intervalMs: 1000,
    setInterval: clock.setInterval,
    clearInterval: clock.clearInterval
  })
  return { handle, updater, clock, loaded: () => loaded }
}

test('a development run (not packaged) never loads the updater nor checks', () => {
  const { handle, loaded, clock } = setup({ isPackaged: false })
  assert.equal(handle, null)
  assert.equal(loaded(), 0)
  assert.equal(clock.timers.size, 0)
})

test('disabled, or a build without an update feed: no updater, no checks', () => {
  for (const over of [{ enabled: false }, { hasFeed: false }]) {
    const { handle, loaded, clock } = setup(over)
    assert.equal(handle, null, JSON.stringify(over))
    assert.equal(loaded(), 0)
    assert.equal(clock.timers.size, 0)
  }
})

test('packaged and enabled: checks at start and on every interval, downloads in the background, installs on quit', async () => {
  const { handle, updater, clock } = setup()
  assert.ok(handle)
  assert.equal(updater.checks, 1)
  assert.equal(updater.autoDownload, true)
  assert.equal(updater.autoInstallOnAppQuit, true)
  assert.ok(updater.logger, 'electron-updater logs through the app logger')
  assert.deepEqual([...clock.timers.values()].map((t) => t.ms), [1000])
  clock.fire()
  clock.fire()
  assert.equal(updater.checks, 3)
  await handle.check()
  assert.equal(updater.checks, 4)
  handle.stop()
  assert.equal(clock.timers.size, 0)
})

test('a failed check (offline, feed down) is logged, never thrown, and the next interval tries again', async () => {
  const { handle, updater, clock } = setup()
  assert.ok(handle)
  updater.failWith = Object.assign(new Error('net::ERR_INTERNET_DISCONNECTED'), { code: 'ERR_INTERNET_DISCONNECTED' })
  await handle.check()
  clock.fire()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(updater.checks, 3)
  updater.failWith = null
  await handle.check()
  assert.equal(updater.checks, 4)
})
