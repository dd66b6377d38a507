import { join } from 'node:path'
import type { MenuItemConstructorOptions } from 'electron'
import type { PresenceStatus } from '../app/api/contract.js'

/** Everything the tray shows, gathered by main.ts from the peer and the window. */
export interface TrayState {
  status: PresenceStatus
  notificationsMuted: boolean
  missedCalls: number
  unreadMessages: number
  newVoicemails: number
  windowVisible: boolean
  platform: NodeJS.Platform
}

/**
 * What a menu item does, as data: the model stays comparable in tests and the
 * closures are made once, in `applyTrayModel`.
 */
export type TrayAction =
  | { kind: 'set-status'; status: PresenceStatus }
  | { kind: 'show-window' }
  | { kind: 'hide-window' }
  | { kind: 'toggle-mute' }
  | { kind: 'quit' }

export type TrayMenuItem =
  | { type: 'radio'; label: string; checked: boolean; action: TrayAction }
  | { type: 'checkbox'; label: string; checked: boolean; action: TrayAction }
  | { type: 'normal'; label: string; action: TrayAction }
  | { type: 'separator' }

export interface TrayModel {
  /** File name inside the tray icon folder (`resources/tray/`). */
  icon: string
  tooltip: string
  /** Missed calls + unread messages + new voicemails; for `app.setBadgeCount` and the macOS title. */
  badgeCount: number
  /** Text beside the icon in the macOS menu bar; null elsewhere, where trays have no title. */
  title: string | null
  menu: TrayMenuItem[]
}

export const PRESENCE_STATUSES: readonly PresenceStatus[] = ['available', 'away', 'busy', 'offline']

const STATUS_LABEL: Record<PresenceStatus, string> = {
  available: 'Available',
  away: 'Away',
  busy: 'Busy',
  offline: 'Offline'
}

/**
 * Icon file for a state. macOS menu-bar icons must be monochrome templates: Electron
 * treats a file whose name ends in `Template` as one and macOS recolours it for light
 * and dark bars. GNOME/KDE panels expect symbolic (single-colour) icons; Windows'
 * notification area shows colour. A pending item (missed call, unread message,
 * voicemail) picks a variant with a dot, since only macOS can show a count beside it.
 */
export function trayIconName(status: PresenceStatus, marked: boolean, platform: NodeJS.Platform): string {
  const base = `tray-${status}${marked ? '-marked' : ''}`
  if (platform === 'darwin') return `${base}Template.png`
  if (platform === 'win32') return `${base}.png`
  return `${base}-symbolic.png`
}

/** Every icon file the tray can ask for: the resources folder must hold all of them. */
export function allTrayIconNames(): string[] {
  const names: string[] = []
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    for (const status of PRESENCE_STATUSES) {
      for (const marked of [false, true]) names.push(trayIconName(status, marked, platform))
    }
  }
  return names
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

export function trayModel(state: TrayState): TrayModel {
  const missed = Math.max(0, state.missedCalls)
  const unread = Math.max(0, state.unreadMessages)
  const voicemails = Math.max(0, state.newVoicemails)
  const badgeCount = missed + unread + voicemails

  const pending: string[] = []
  if (missed) pending.push(plural(missed, 'missed call', 'missed calls'))
  if (unread) pending.push(plural(unread, 'unread message', 'unread messages'))
  if (voicemails) pending.push(plural(voicemails, 'new voicemail', 'new voicemails'))
  const tooltip = [`Parley — ${STATUS_LABEL[state.status]}`, ...pending, ...(state.notificationsMuted ? ['notifications muted'] : [])].join('\n')

  const menu: TrayMenuItem[] = [
    ...PRESENCE_STATUSES.map(
      (status): TrayMenuItem => ({ type: 'radio', label: STATUS_LABEL[status], checked: status === state.status, action: { kind: 'set-status', status } })
    ),
    { type: 'separator' },
    state.windowVisible
      ? { type: 'normal', label: 'Hide Parley', action: { kind: 'hide-window' } }
      : { type: 'normal', label: 'Show Parley', action: { kind: 'show-window' } },
    { type: 'checkbox', label: 'Mute notifications', checked: state.notificationsMuted, action: { kind: 'toggle-mute' } },
    { type: 'separator' },
    { type: 'normal', label: 'Quit Parley', action: { kind: 'quit' } }
  ]

  return {
    icon: trayIconName(state.status, badgeCount > 0, state.platform),
    tooltip,
    badgeCount,
    title: state.platform !== 'darwin' ? null : badgeCount > 0 ? String(badgeCount) : '',
    menu
  }
}

/** Turn the model's items into Electron menu items whose clicks call `onAction`. */
export function menuTemplate(items: TrayMenuItem[], onAction: (action: TrayAction) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    if (item.type === 'separator') return { type: 'separator' }
    const click = () => onAction(item.action)
    if (item.type === 'normal') return { type: 'normal', label: item.label, click }
    return { type: item.type, label: item.label, checked: item.checked, click }
  })
}

/** The parts of Electron's `Tray` the model drives (structural, so tests need no Electron). */
export interface TrayLike<Image, Menu> {
  setImage(image: Image): void
  setToolTip(toolTip: string): void
  setTitle(title: string): void
  setContextMenu(menu: Menu | null): void
}

export interface TrayDeps<Image, Menu> {
  Menu: { buildFromTemplate(template: MenuItemConstructorOptions[]): Menu }
  nativeImage: { createFromPath(path: string): Image }
  /** Folder holding the files named by `allTrayIconNames()`. */
  iconDir: string
  onAction: (action: TrayAction) => void
}

/**
 * Push a model into the tray. Called again on every state change: Linux's
 * AppIndicator only picks up a menu that is set anew, not one mutated in place.
 */
export function applyTrayModel<Image, Menu>(tray: TrayLike<Image, Menu>, model: TrayModel, deps: TrayDeps<Image, Menu>): void {
  tray.setImage(deps.nativeImage.createFromPath(join(deps.iconDir, model.icon)))
  tray.setToolTip(model.tooltip)
  if (model.title !== null) tray.setTitle(model.title)
  tray.setContextMenu(deps.Menu.buildFromTemplate(menuTemplate(model.menu, deps.onAction)))
}
