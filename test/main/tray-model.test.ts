import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray, nativeImage as NativeImageModule } from 'electron'
import {
  allTrayIconNames,
  applyTrayModel,
  trayModel,
  type TrayAction,
  type TrayDeps,
  type TrayLike,
  type TrayState
} from '../../main/tray-model.js'

const base: TrayState = {
  status: 'available',
  notificationsMuted: false,
  missedCalls: 0,
  unreadMessages: 0,
  newVoicemails: 0,
  windowVisible: true,
  platform: 'linux'
}

// Compile-time only: Electron's real objects fit the structural types main.ts will pass.
export const _fits: [(t: Tray) => TrayLike<NativeImage, Menu>, (m: typeof Menu, n: typeof NativeImageModule) => Omit<TrayDeps<NativeImage, Menu>, 'iconDir' | 'onAction'>] = [
  (t) => t,
  (m, n) => ({ Menu: m, nativeImage: n })
]

test('icon per presence state and platform: macOS templates, Linux symbolic, Windows colour', () => {
  const expected = {
    darwin: ['tray-availableTemplate.png', 'tray-awayTemplate.png', 'tray-busyTemplate.png', 'tray-offlineTemplate.png'],
    linux: ['tray-available-symbolic.png', 'tray-away-symbolic.png', 'tray-busy-symbolic.png', 'tray-offline-symbolic.png'],
    win32: ['tray-available.png', 'tray-away.png', 'tray-busy.png', 'tray-offline.png']
  } as const
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    const icons = (['available', 'away', 'busy', 'offline'] as const).map((status) => trayModel({ ...base, status, platform }).icon)
    assert.deepEqual(icons, expected[platform])
  }
  // FreeBSD and other X11 desktops use the Linux panels' symbolic icons.
  assert.equal(trayModel({ ...base, platform: 'freebsd' }).icon, 'tray-available-symbolic.png')
})

test('missed calls, unread messages and voicemails mark the icon and count in the badge', () => {
  const quiet = trayModel({ ...base, platform: 'darwin' })
  assert.equal(quiet.badgeCount, 0)
  assert.equal(quiet.title, '')
  assert.equal(quiet.tooltip, 'Parley — Available')

  const busy = trayModel({ ...base, status: 'busy', missedCalls: 2, unreadMessages: 1, newVoicemails: 1, platform: 'darwin' })
  assert.equal(busy.badgeCount, 4)
  assert.equal(busy.icon, 'tray-busy-markedTemplate.png')
  assert.equal(busy.title, '4')
  assert.equal(busy.tooltip, 'Parley — Busy\n2 missed calls\n1 unread message\n1 new voicemail')

  const linux = trayModel({ ...base, unreadMessages: 3, notificationsMuted: true })
  assert.equal(linux.icon, 'tray-available-marked-symbolic.png')
  assert.equal(linux.title, null)
  assert.equal(linux.tooltip, 'Parley — Available\n3 unread messages\nnotifications muted')
  assert.equal(trayModel({ ...base, newVoicemails: 1, platform: 'win32' }).icon, 'tray-available-marked.png')
})

test('every icon the model can name is in the list of icon files', () => {
  const names = new Set(allTrayIconNames())
  assert.equal(names.size, 24) // 3 platforms × 4 states × plain/marked
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    for (const status of ['available', 'away', 'busy', 'offline'] as const) {
      for (const missedCalls of [0, 1]) assert.ok(names.has(trayModel({ ...base, status, platform, missedCalls }).icon))
    }
  }
})

test('the menu: four status radios with the current one checked, show/hide, mute, quit', () => {
  for (const status of ['available', 'away', 'busy', 'offline'] as const) {
    const menu = trayModel({ ...base, status }).menu
    const radios = menu.filter((i) => i.type === 'radio')
    assert.deepEqual(
      radios.map((r) => [r.label, r.checked]),
      [
        ['Available', status === 'available'],
        ['Away', status === 'away'],
        ['Busy', status === 'busy'],
        ['Offline', status === 'offline']
      ]
    )
  }
  const shown = trayModel({ ...base, windowVisible: true, notificationsMuted: true }).menu
  assert.deepEqual(shown.slice(4), [
    { type: 'separator' },
    { type: 'normal', label: 'Hide Parley', action: { kind: 'hide-window' } },
    { type: 'checkbox', label: 'Mute notifications', checked: true, action: { kind: 'toggle-mute' } },
    { type: 'separator' },
    { type: 'normal', label: 'Quit Parley', action: { kind: 'quit' } }
  ])
  const hidden = trayModel({ ...base, windowVisible: false }).menu
  assert.deepEqual(hidden[5], { type: 'normal', label: 'Show Parley', action: { kind: 'show-window' } })
  assert.deepEqual(hidden[6], { type: 'checkbox', label: 'Mute notifications', checked: false, action: { kind: 'toggle-mute' } })
})

function fakeTray() {
  const calls: Record<string, unknown[]> = { setImage: [], setToolTip: [], setTitle: [], setContextMenu: [] }
  const tray: TrayLike<string, MenuItemConstructorOptions[]> = {
    setImage: (i) => calls.setImage!.push(i),
    setToolTip: (t) => calls.setToolTip!.push(t),
    setTitle: (t) => calls.setTitle!.push(t),
    setContextMenu: (m) => calls.setContextMenu!.push(m)
  }
  return { tray, calls }
}

test('applyTrayModel sets icon, tooltip, title and a menu whose clicks report the item action', () => {
  const { tray, calls } = fakeTray()
  const actions: TrayAction[] = []
  const deps: TrayDeps<string, MenuItemConstructorOptions[]> = {
    Menu: { buildFromTemplate: (template) => template },
    nativeImage: { createFromPath: (path) => `image:${path}` },
    iconDir: '/res/tray',
    onAction: (a) => actions.push(a)
  }
  applyTrayModel(tray, trayModel({ ...base, status: 'away', missedCalls: 1, platform: 'darwin', windowVisible: false }), deps)
  assert.deepEqual(calls.setImage, [`image:${join('/res/tray', 'tray-away-markedTemplate.png')}`])
  assert.deepEqual(calls.setToolTip, ['Parley — Away\n1 missed call'])
  assert.deepEqual(calls.setTitle, ['1'])
  const template = calls.setContextMenu![0] as MenuItemConstructorOptions[]
  assert.deepEqual(
    template.map((i) => [i.type, i.label, i.checked]),
    [
      ['radio', 'Available', false],
      ['radio', 'Away', true],
      ['radio', 'Busy', false],
      ['radio', 'Offline', false],
      ['separator', undefined, undefined],
      ['normal', 'Show Parley', undefined],
      ['checkbox', 'Mute notifications', false],
      ['separator', undefined, undefined],
      ['normal', 'Quit Parley', undefined]
    ]
  )
  for (const item of template) (item.click as (() => void) | undefined)?.()
  assert.deepEqual(actions, [
    { kind: 'set-status', status: 'available' },
    { kind: 'set-status', status: 'away' },
    { kind: 'set-status', status: 'busy' },
    { kind: 'set-status', status: 'offline' },
    { kind: 'show-window' },
    { kind: 'toggle-mute' },
    { kind: 'quit' }
  ])

  // Trays without a title (Linux, Windows) are never asked to set one.
  const other = fakeTray()
  applyTrayModel(other.tray, trayModel(base), deps)
  assert.deepEqual(other.calls.setTitle, [])
  assert.equal(other.calls.setContextMenu!.length, 1)
})
