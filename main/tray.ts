import { join } from 'node:path'
import type { PresenceStatus } from '../app/api/contract.js'
import { applyTrayModel, trayModel, type TrayAction, type TrayDeps, type TrayLike, type TrayModel, type TrayState } from './tray-model.js'

/** What the tray's menu asks of the rest of the app. */
export interface TrayCallbacks {
  /** The user picked a status: publish it (`presence.set`) and tell the idle policy (`userChangedStatus`). */
  setStatus(status: PresenceStatus): void | Promise<void>
  showWindow(): void
  hideWindow(): void
  /** The mute item was toggled; `muted` is the new value (already shown in the tray). */
  setMuted(muted: boolean): void
  quit(): void
  /** A callback that threw or rejected. */
  onError?: (err: unknown) => void
}

/** Electron's `Tray` as far as this module uses it. */
export interface TrayHandleLike<Image, Menu> extends TrayLike<Image, Menu> {
  on(event: 'click', listener: () => void): unknown
  destroy(): void
}

export interface SetupTrayOptions<Image, Menu> extends TrayCallbacks, Omit<TrayDeps<Image, Menu>, 'onAction'> {
  /** `(image) => new Tray(image)`. */
  createTray(image: Image): TrayHandleLike<Image, Menu>
  /** The state at start; `platform` picks the icon family. */
  initial: TrayState
  /** `app.setBadgeCount` (macOS dock, Linux launchers that support it); called when the count changes. */
  setBadgeCount?: (count: number) => void
}

export interface ParleyTray {
  /** Merge a change (presence event, new missed call, window shown…) and redraw if anything shows differently. */
  update(change: Partial<Omit<TrayState, 'platform'>>): void
  state(): TrayState
  /** Remove the icon (on quit). Safe to call twice. */
  destroy(): void
}

/**
 * The tray icon: one per presence state, a marker for pending items, the menu to
 * change status, show or hide the window, mute notifications and quit. The state
 * lives here; main.ts feeds it changes and the menu reports the user's choices.
 * Mute is the tray's own setting, so it shows at once; a status shows when the
 * peer's `presence` event comes back through `update`.
 */
export function setupTray<Image, Menu>(opts: SetupTrayOptions<Image, Menu>): ParleyTray {
  let state: TrayState = { ...opts.initial }
  let shown: TrayModel | null = null
  let badge: number | null = null
  let destroyed = false
  const onError = opts.onError ?? (() => {})

  const guarded = (fn: () => void | Promise<void>) => {
    try {
      void Promise.resolve(fn()).catch(onError)
    } catch (err) {
      onError(err)
    }
  }

  const onAction = (action: TrayAction) => {
    switch (action.kind) {
      case 'set-status':
        return guarded(() => opts.setStatus(action.status))
      case 'show-window':
        return guarded(() => opts.showWindow())
      case 'hide-window':
        return guarded(() => opts.hideWindow())
      case 'toggle-mute': {
        const muted = !state.notificationsMuted
        update({ notificationsMuted: muted })
        return guarded(() => opts.setMuted(muted))
      }
      case 'quit':
        return guarded(() => opts.quit())
    }
  }

  const deps: TrayDeps<Image, Menu> = { Menu: opts.Menu, nativeImage: opts.nativeImage, iconDir: opts.iconDir, onAction }
  const first = trayModel(state)
  const tray = opts.createTray(opts.nativeImage.createFromPath(join(opts.iconDir, first.icon)))
  // Windows and macOS report a left click; AppIndicator (Linux) shows the menu instead.
  tray.on('click', () => guarded(() => opts.showWindow()))

  function render(): void {
    if (destroyed) return
    const model = trayModel(state)
    // Setting an identical menu again makes some Linux panels flicker or close an open menu.
    if (shown && JSON.stringify(shown) === JSON.stringify(model)) return
    applyTrayModel(tray, model, deps)
    shown = model
    if (opts.setBadgeCount && model.badgeCount !== badge) {
      badge = model.badgeCount
      opts.setBadgeCount(model.badgeCount)
    }
  }

  function update(change: Partial<Omit<TrayState, 'platform'>>): void {
    state = { ...state, ...change }
    render()
  }

  render()
  return {
    update,
    state: () => ({ ...state }),
    destroy() {
      if (destroyed) return
      destroyed = true
      tray.destroy()
    }
  }
}
