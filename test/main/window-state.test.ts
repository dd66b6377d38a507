import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserWindow, Screen } from 'electron'
import {
  loadWindowState,
  placeWindow,
  trackWindowState,
  WINDOW_STATE_FILE,
  type Rect,
  type ScreenLike,
  type TrackedWindow,
  type WindowState
} from '../../main/window-state.js'
import { errorCode } from '../../app/errors.js'

// Compile-time only: Electron's window and screen fit the structural types.
export const _fits: [(w: BrowserWindow) => TrackedWindow, (s: Screen) => ScreenLike] = [(w) => w, (s) => s]

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-window-'))
  dirs.push(dir)
  return join(dir, WINDOW_STATE_FILE)
}

function screenOf(...workAreas: Rect[]): ScreenLike {
  return { getAllDisplays: () => workAreas.map((workArea) => ({ workArea })), getPrimaryDisplay: () => ({ workArea: workAreas[0]! }) }
}
// A 1920×1080 laptop (menu bar / panel of 40 px) with a 2560×1440 monitor to its right.
const laptop: Rect = { x: 0, y: 40, width: 1920, height: 1040 }
const monitor: Rect = { x: 1920, y: 0, width: 2560, height: 1440 }
const centred: WindowState = { x: 480, y: 220, width: 960, height: 680, maximized: false }

test('saved bounds on a current display are restored as they were', () => {
  const onLaptop = { x: 100, y: 100, width: 800, height: 600, maximized: false }
  const onMonitor = { x: 2500, y: 300, width: 1200, height: 900, maximized: true }
  assert.deepEqual(placeWindow(onLaptop, screenOf(laptop, monitor)), onLaptop)
  assert.deepEqual(placeWindow(onMonitor, screenOf(laptop, monitor)), onMonitor)
  // Partly off the side is fine while enough of the title bar can be grabbed.
  const hangingOff = { x: -600, y: 100, width: 800, height: 600, maximized: false }
  assert.deepEqual(placeWindow(hangingOff, screenOf(laptop)), hangingOff)
})

test('bounds on an unplugged monitor, off-screen or too small fall back to the default centred on the primary display', () => {
  const screen = screenOf(laptop)
  assert.deepEqual(placeWindow(undefined, screen), centred)
  assert.deepEqual(placeWindow({ x: 2500, y: 300, width: 1200, height: 900, maximized: false }, screen), centred)
  assert.deepEqual(placeWindow({ x: -790, y: 100, width: 800, height: 600, maximized: false }, screen), centred) // 10 px left to grab
  assert.deepEqual(placeWindow({ x: 100, y: 10, width: 800, height: 600, maximized: false }, screen), centred) // title bar under the panel
  assert.deepEqual(placeWindow({ x: 100, y: 1070, width: 800, height: 600, maximized: false }, screen), centred) // title bar below the bottom
  assert.deepEqual(placeWindow({ x: 100, y: 100, width: 200, height: 600, maximized: false }, screen), centred)
  assert.deepEqual(placeWindow({ x: 100, y: 100, width: 800, height: 100, maximized: false }, screen), centred)
  // The user's choice to maximize survives even when the bounds do not.
  assert.deepEqual(placeWindow({ x: 2500, y: 300, width: 1200, height: 900, maximized: true }, screen), { ...centred, maximized: true })
  // A small primary display: the default shrinks to fit it.
  assert.deepEqual(placeWindow(undefined, screenOf({ x: 0, y: 0, width: 800, height: 600 })), { x: 0, y: 0, width: 800, height: 600, maximized: false })
})

test('a window bigger than the display it is on is shrunk to fit', () => {
  assert.deepEqual(placeWindow({ x: 0, y: 40, width: 2400, height: 1400, maximized: false }, screenOf(laptop)), {
    x: 0,
    y: 40,
    width: 1920,
    height: 1040,
    maximized: false
  })
})

class FakeWindow extends EventEmitter implements TrackedWindow {
  bounds: Rect = { x: 100, y: 100, width: 800, height: 600 }
  maximized = false
  destroyed = false
  getNormalBounds = () => ({ ...this.bounds })
  isMaximized = () => this.maximized
  isDestroyed = () => this.destroyed
}

test('moves and resizes are saved once they settle, and the next launch restores them', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const path = await tempFile()
  const win = new FakeWindow()
  const tracker = trackWindowState(win, { path, debounceMs: 500 })

  for (let x = 100; x <= 300; x += 50) {
    win.bounds = { ...win.bounds, x }
    win.emit('move')
    t.mock.timers.tick(100)
  }
  await new Promise((resolve) => setImmediate(resolve))
  await assert.rejects(readFile(path), { code: 'ENOENT' })
  t.mock.timers.tick(400)
  await tracker.flush()
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { x: 300, y: 100, width: 800, height: 600, maximized: false })

  win.bounds = { x: 2000.4, y: 50, width: 1000, height: 700 }
  win.maximized = true
  win.emit('resize')
  win.emit('maximize')
  await tracker.flush() // a pending save is written now
  assert.deepEqual(await loadWindowState(path, screenOf(laptop, monitor)), { x: 2000, y: 50, width: 1000, height: 700, maximized: true })
  // Without that monitor, the window opens centred on the laptop, still maximized.
  assert.deepEqual(await loadWindowState(path, screenOf(laptop)), { ...centred, maximized: true })
  tracker.stop()
})

test('closing the window saves at once; after stop nothing is saved', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const path = await tempFile()
  const win = new FakeWindow()
  const tracker = trackWindowState(win, { path })
  win.bounds = { x: 10, y: 60, width: 700, height: 500 }
  win.emit('move')
  win.emit('close')
  await tracker.flush()
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { x: 10, y: 60, width: 700, height: 500, maximized: false })

  tracker.stop()
  assert.equal(win.listenerCount('move'), 0)
  win.bounds = { x: 20, y: 60, width: 700, height: 500 }
  win.emit('move')
  t.mock.timers.tick(10_000)
  win.emit('close')
  await tracker.flush()
  assert.equal(JSON.parse(await readFile(path, 'utf8')).x, 10)
})

test('a corrupt file is ignored without crashing and left untouched until the next save', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  for (const garbage of ['{"x": 1, "y":', '{"x": "left", "y": 0, "width": 800, "height": 600, "maximized": false}', '[]']) {
    const path = await tempFile()
    await writeFile(path, garbage)
    const errors: unknown[] = []
    assert.deepEqual(await loadWindowState(path, screenOf(laptop), { onError: (err) => errors.push(err) }), centred)
    assert.deepEqual(errors.map(errorCode), ['DATA_CORRUPT'])
    assert.equal(await readFile(path, 'utf8'), garbage)

    const win = new FakeWindow()
    const tracker = trackWindowState(win, { path })
    win.emit('resize')
    t.mock.timers.tick(500)
    await tracker.flush()
    assert.deepEqual(await loadWindowState(path, screenOf(laptop)), { x: 100, y: 100, width: 800, height: 600, maximized: false })
    tracker.stop()
  }
})

test('a missing file opens the default window and reports nothing', async () => {
  const errors: unknown[] = []
  assert.deepEqual(await loadWindowState(await tempFile(), screenOf(laptop), { onError: (err) => errors.push(err) }), centred)
  assert.deepEqual(errors, [])
})

test('a failed write is reported and later saves still happen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-window-'))
  dirs.push(dir)
  const blocker = join(dir, 'not-a-dir')
  await writeFile(blocker, '')
  const errors: unknown[] = []
  const win = new FakeWindow()
  const bad = trackWindowState(win, { path: join(blocker, WINDOW_STATE_FILE), onError: (err) => errors.push(err) })
  win.emit('close')
  await bad.flush()
  assert.equal(errors.length, 1)
  bad.stop()
})
