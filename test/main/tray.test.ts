import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray, nativeImage as NativeImageModule } from 'electron'
import type { PresenceStatus } from '../../app/api/contract.js'
import { setupTray, type SetupTrayOptions, type TrayHandleLike } from '../../main/tray.js'
import type { TrayState } from '../../main/tray-model.js'

const ICON_DIR = fileURLToPath(new URL('../../resources/tray/', import.meta.url))

// Compile-time only: main.ts can pass Electron's own objects.
export const _fits: Array<(T: typeof Tray, M: typeof Menu, n: typeof NativeImageModule) => Partial<SetupTrayOptions<NativeImage, Menu>>> = [
  (T, M, n) => ({ createTray: (image: NativeImage): TrayHandleLike<NativeImage, Menu> => new T(image), Menu: M, nativeImage: n })
]

const initial: TrayState = { status: 'available', notificationsMuted: false, missedCalls: 0, unreadMessages: 0, newVoicemails: 0, windowVisible: true, platform: 'linux' }

type Template = MenuItemConstructorOptions[]

function harness(overrides: Partial<SetupTrayOptions<string, Template>> = {}) {
  const log: string[] = []
  const menus: Template[] = []
  const images: string[] = []
  const badges: number[] = []
  const clickListeners: Array<() => void> = []
  const errors: unknown[] = []
  let created: string | null = null
  let destroyed = 0
  const tray = setupTray<string, Template>({
    createTray(image) {
      created = image
      return {
        setImage: (i) => images.push(i),
        setToolTip: () => {},
        setTitle: () => {},
        setContextMenu: (m) => menus.push(m!),
        on: (_event, listener) => clickListeners.push(listener),
        destroy: () => destroyed++
      }
    },
    Menu: { buildFromTemplate: (t) => t },
    nativeImage: { createFromPath: (p) => p },
    iconDir: ICON_DIR,
    initial,
    setBadgeCount: (n) => badges.push(n),
    setStatus: (s: PresenceStatus) => void log.push(`status:${s}`),
    showWindow: () => void log.push('show'),
    hideWindow: () => void log.push('hide'),
    setMuted: (m) => void log.push(`muted:${m}`),
    quit: () => void log.push('quit'),
    onError: (err) => errors.push(err),
    ...overrides
  })
  const click = (label: string) => {
    const item = menus.at(-1)!.find((i) => i.label === label)
    assert.ok(item, `menu item ${label}`)
    ;(item.click as () => void)()
  }
  return { tray, log, menus, images, badges, clickListeners, errors, click, created: () => created, destroyed: () => destroyed }
}

test('the tray starts with the icon of the initial state, an existing file, and a menu', () => {
  const h = harness()
  assert.equal(h.created(), join(ICON_DIR, 'tray-available-symbolic.png'))
  assert.ok(existsSync(h.created()!))
  assert.equal(h.menus.length, 1)
  assert.deepEqual(h.badges, [0])
})

test('menu items call back: status, show/hide, mute (shown at once), quit; a left click shows the window', () => {
  const h = harness()
  h.click('Busy')
  h.click('Hide Parley')
  h.click('Mute notifications')
  // Mute is the tray's own setting: the menu is rebuilt with it checked.
  assert.equal(h.menus.at(-1)!.find((i) => i.label === 'Mute notifications')!.checked, true)
  assert.equal(h.tray.state().notificationsMuted, true)
  h.click('Mute notifications')
  h.click('Quit Parley')
  for (const listener of h.clickListeners) listener()
  assert.deepEqual(h.log, ['status:busy', 'hide', 'muted:true', 'muted:false', 'quit', 'show'])
  // The status is not shown until the peer confirms it.
  assert.equal(h.tray.state().status, 'available')
})

test('updates redraw the icon and badge; unchanged state does not rebuild the menu', () => {
  const h = harness()
  h.tray.update({ status: 'away' })
  assert.equal(h.images.at(-1), join(ICON_DIR, 'tray-away-symbolic.png'))
  h.tray.update({ missedCalls: 2, unreadMessages: 1 })
  assert.equal(h.images.at(-1), join(ICON_DIR, 'tray-away-marked-symbolic.png'))
  assert.deepEqual(h.badges, [0, 3])
  const menus = h.menus.length
  h.tray.update({ missedCalls: 2 })
  assert.equal(h.menus.length, menus)
  h.tray.update({ windowVisible: false })
  assert.equal(h.menus.length, menus + 1)
  h.click('Show Parley')
  assert.deepEqual(h.log, ['show'])
  for (const image of h.images) assert.ok(existsSync(image), image)
})

test('a failing callback is reported, not thrown into Electron; destroy is idempotent and stops redraws', async () => {
  const h = harness({
    setStatus: async () => {
      throw new Error('peer not running')
    },
    quit: () => {
      throw new Error('boom')
    }
  })
  h.click('Offline')
  h.click('Quit Parley')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(
    h.errors.map((e) => (e as Error).message),
    ['boom', 'peer not running']
  )
  h.tray.destroy()
  h.tray.destroy()
  assert.equal(h.destroyed(), 1)
  const images = h.images.length
  h.tray.update({ status: 'busy' })
  assert.equal(h.images.length, images)
})
