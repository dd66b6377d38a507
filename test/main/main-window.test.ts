import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { BrowserWindow, BrowserWindowConstructorOptions, WebFrameMain } from 'electron'
import { setupMainWindow, type MainWindowOptions } from '../../main/main-window.js'
import { APP_ENTRY_URL } from '../../main/app-protocol.js'

interface Frame {
  url: string
  frameTreeNodeId: number
  parent: Frame | null
}

// Compile-time only: Electron's frames are what isTopFrame takes.
export const _fits = (f: WebFrameMain | null): Parameters<ReturnType<typeof setupMainWindow>['isTopFrame']>[0] => f

let nextFrameId = 1

/** Enough of BrowserWindow for the main window's logic; records what was done to it. */
class FakeWindow extends EventEmitter {
  static created: FakeWindow[] = []
  readonly options: BrowserWindowConstructorOptions
  readonly loaded: string[] = []
  readonly calls: string[] = []
  destroyed = false
  minimized = false
  maximized = false
  normalBounds = { x: 0, y: 0, width: 0, height: 0 }
  readonly webContents: { mainFrame: Frame }

  constructor(options: BrowserWindowConstructorOptions) {
    super()
    this.options = options
    this.normalBounds = { x: options.x ?? 0, y: options.y ?? 0, width: options.width ?? 0, height: options.height ?? 0 }
    this.webContents = { mainFrame: { url: '', frameTreeNodeId: nextFrameId++, parent: null } }
    FakeWindow.created.push(this)
  }
  loadURL(url: string): Promise<void> {
    this.loaded.push(url)
    this.webContents.mainFrame.url = url
    return Promise.resolve()
  }
  loadFile(): Promise<void> {
    throw new Error('loadFile must not be used: the renderer comes from the app protocol')
  }
  isDestroyed = () => this.destroyed
  isMinimized = () => this.minimized
  isMaximized = () => this.maximized
  getNormalBounds = () => ({ ...this.normalBounds })
  restore = () => void this.calls.push('restore')
  show = () => void this.calls.push('show')
  focus = () => void this.calls.push('focus')
  maximize = () => {
    this.calls.push('maximize')
    this.maximized = true
  }
  close(): void {
    this.emit('close')
    this.destroyed = true
    this.emit('closed')
  }
}

function setup(opts: Partial<MainWindowOptions> = {}) {
  FakeWindow.created = []
  const created: unknown[] = []
  const mainWindow = setupMainWindow({
    BrowserWindow: FakeWindow as unknown as typeof BrowserWindow,
    preloadPath: '/opt/parley/dist/main/preload.cjs',
    onCreated: (win) => void created.push(win),
    ...opts
  })
  return { mainWindow, created, windows: FakeWindow.created }
}

test('the window is sandboxed, isolated, without Node, with web security, and loads the app protocol page', () => {
  const { mainWindow, windows } = setup()
  assert.equal(windows.length, 0, 'setup opens no window')
  mainWindow.show()
  assert.equal(windows.length, 1)
  const win = windows[0]!
  const prefs = win.options.webPreferences!
  assert.equal(prefs.preload, '/opt/parley/dist/main/preload.cjs')
  assert.equal(prefs.contextIsolation, true)
  assert.equal(prefs.sandbox, true)
  assert.equal(prefs.nodeIntegration, false)
  assert.equal(prefs.nodeIntegrationInWorker, false)
  assert.equal(prefs.nodeIntegrationInSubFrames, false)
  assert.equal(prefs.webSecurity, true)
  assert.equal(prefs.allowRunningInsecureContent, false)
  assert.equal(prefs.experimentalFeatures, false)
  assert.equal(prefs.webviewTag, false)
  assert.equal(prefs.navigateOnDragDrop, false)
  assert.equal(prefs.enableBlinkFeatures, undefined)
  assert.equal(prefs.partition, undefined, 'the default session, where the app protocol and permission handlers live')
  assert.deepEqual(win.loaded, [APP_ENTRY_URL])
  assert.equal(win.options.show, false)
  win.emit('ready-to-show')
  assert.deepEqual(win.calls, ['show'])
})

test('a second show brings the one window forward, restoring it if minimized', () => {
  const { mainWindow, windows } = setup()
  mainWindow.show()
  const win = windows[0]!
  win.minimized = true
  mainWindow.show()
  assert.equal(windows.length, 1)
  assert.deepEqual(win.calls, ['restore', 'show', 'focus'])
})

test('initial bounds are used, maximized before it is shown; onCreated sees each window', () => {
  const bounds = { x: 100, y: 50, width: 800, height: 600, maximized: true }
  const { mainWindow, windows, created } = setup({ bounds })
  mainWindow.show()
  const win = windows[0]!
  assert.deepEqual([win.options.x, win.options.y, win.options.width, win.options.height], [100, 50, 800, 600])
  assert.ok((win.options.minWidth ?? 0) > 0 && (win.options.minHeight ?? 0) > 0)
  assert.deepEqual(win.calls, ['maximize'])
  assert.deepEqual(created, [win])
})

test('without bounds the default size is used and the window is not maximized', () => {
  const { mainWindow, windows } = setup()
  mainWindow.show()
  const win = windows[0]!
  assert.equal(win.options.x, undefined)
  assert.ok((win.options.width ?? 0) >= 480 && (win.options.height ?? 0) >= 360)
  assert.deepEqual(win.calls, [])
})

test('a window opened again after closing comes back where the last one was', () => {
  const { mainWindow, windows, created } = setup({ bounds: { x: 1, y: 2, width: 800, height: 600, maximized: false } })
  mainWindow.show()
  const first = windows[0]!
  first.normalBounds = { x: 300, y: 200, width: 1000, height: 700 }
  first.maximized = true
  first.close()
  assert.equal(mainWindow.isTopFrame(first.webContents.mainFrame), false, 'a closed window has no trusted frame')
  mainWindow.show()
  assert.equal(windows.length, 2)
  const second = windows[1]!
  assert.deepEqual([second.options.x, second.options.y, second.options.width, second.options.height], [300, 200, 1000, 700])
  assert.deepEqual(second.calls, ['maximize'])
  assert.deepEqual(created, [first, second])
})

test('isTopFrame: only the current window top frame showing the app origin', () => {
  const { mainWindow, windows } = setup()
  assert.equal(mainWindow.isTopFrame({ url: APP_ENTRY_URL, frameTreeNodeId: 1, parent: null }), false, 'no window yet')
  mainWindow.show()
  const win = windows[0]!
  const top = win.webContents.mainFrame
  const frame = (change: Partial<Frame>): Frame => ({ ...top, ...change })
  assert.equal(mainWindow.isTopFrame(top), true)
  assert.equal(mainWindow.isTopFrame(frame({ url: 'app://parley/app/index.html#/call?x=1' })), true)
  assert.equal(mainWindow.isTopFrame(null), false)
  assert.equal(mainWindow.isTopFrame(frame({ frameTreeNodeId: top.frameTreeNodeId + 1000 })), false)
  assert.equal(mainWindow.isTopFrame(frame({ parent: top })), false)
  for (const url of [
    'https://evil.example/',
    'app://parley.evil/app/index.html',
    'app://evil/app/index.html',
    'app://parley:1/app/index.html',
    'file:///opt/parley/dist/renderer/index.html',
    'about:blank',
    'data:text/html,x',
    ''
  ]) {
    assert.equal(mainWindow.isTopFrame(frame({ url })), false, url)
  }
  win.destroyed = true
  assert.equal(mainWindow.isTopFrame(top), false, 'destroyed window')
})
