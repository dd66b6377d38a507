import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../app/store/json-file.js'

/** Beside the peer's folder in the user-data dir. */
export const WINDOW_STATE_FILE = 'window-state.json'

/** Normal (unmaximized) bounds, so un-maximizing after a restart lands where the user left it. */
export const WindowState = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  maximized: z.boolean()
})
export type WindowState = z.infer<typeof WindowState>

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** The parts of Electron's `screen` the placement needs. */
export interface ScreenLike {
  getAllDisplays(): { workArea: Rect }[]
  getPrimaryDisplay(): { workArea: Rect }
}

export interface WindowSizes {
  width: number
  height: number
  minWidth: number
  minHeight: number
}

export const DEFAULT_WINDOW_SIZES: WindowSizes = { width: 960, height: 680, minWidth: 480, minHeight: 360 }

/** How much of the title bar must be on a display for the user to grab it. */
const GRAB_WIDTH = 100
const TITLE_BAR_HEIGHT = 32

/**
 * Where to open the window: the saved bounds if the title bar is still on one of
 * today's displays (a monitor may have been unplugged or rearranged since), shrunk
 * to fit that display; otherwise the default size centred on the primary display.
 */
export function placeWindow(saved: WindowState | undefined, screen: ScreenLike, sizes: WindowSizes = DEFAULT_WINDOW_SIZES): WindowState {
  if (saved && saved.width >= sizes.minWidth && saved.height >= sizes.minHeight) {
    for (const { workArea: wa } of screen.getAllDisplays()) {
      const overlap = Math.min(saved.x + saved.width, wa.x + wa.width) - Math.max(saved.x, wa.x)
      const titleBarOn = saved.y >= wa.y && saved.y <= wa.y + wa.height - TITLE_BAR_HEIGHT
      if (titleBarOn && overlap >= Math.min(GRAB_WIDTH, saved.width)) {
        return { ...saved, width: Math.min(saved.width, wa.width), height: Math.min(saved.height, wa.height) }
      }
    }
  }
  const wa = screen.getPrimaryDisplay().workArea
  const width = Math.min(sizes.width, wa.width)
  const height = Math.min(sizes.height, wa.height)
  return {
    x: wa.x + Math.round((wa.width - width) / 2),
    y: wa.y + Math.round((wa.height - height) / 2),
    width,
    height,
    maximized: saved?.maximized ?? false
  }
}

export interface LoadWindowStateOptions {
  sizes?: WindowSizes
  /** An unreadable file (DATA_CORRUPT, permissions) is reported here and otherwise ignored. */
  onError?: (err: unknown) => void
}

/**
 * The bounds to create the main window with. A broken file must not keep the
 * app from opening: it is ignored, and left as it is until the next save.
 */
export async function loadWindowState(path: string, screen: ScreenLike, opts: LoadWindowStateOptions = {}): Promise<WindowState> {
  let saved: WindowState | undefined
  try {
    saved = await readJsonFile(path, WindowState)
  } catch (err) {
    opts.onError?.(err)
  }
  return placeWindow(saved, screen, opts.sizes)
}

type WindowEvent = 'move' | 'resize' | 'maximize' | 'unmaximize' | 'close'

/** The parts of Electron's `BrowserWindow` the tracker needs. */
export interface TrackedWindow {
  on(event: WindowEvent, listener: () => void): unknown
  removeListener(event: WindowEvent, listener: () => void): unknown
  getNormalBounds(): Rect
  isMaximized(): boolean
  isDestroyed(): boolean
}

export interface TrackWindowStateOptions {
  path: string
  /** Moves and resizes arrive many times a second while dragging; save once it settles. */
  debounceMs?: number
  onError?: (err: unknown) => void
}

export interface WindowStateTracker {
  /** Save now if a save is pending; resolves when every write so far is on disk. */
  flush(): Promise<void>
  /** Stop listening (a pending save is dropped; call `flush()` first to keep it). */
  stop(): void
}

/** Save the window's bounds after moves and resizes, and at once when it closes. */
export function trackWindowState(win: TrackedWindow, opts: TrackWindowStateOptions): WindowStateTracker {
  const debounceMs = opts.debounceMs ?? 500
  let timer: NodeJS.Timeout | undefined
  // Writes run one after another: two renames racing could leave the older bounds.
  let writes: Promise<void> = Promise.resolve()

  const save = (): Promise<void> => {
    clearTimeout(timer)
    timer = undefined
    if (win.isDestroyed()) return writes
    const bounds = win.getNormalBounds()
    const state: WindowState = {
      x: Math.round(bounds.x),
      y: Math.round(bounds.y),
      width: Math.round(bounds.width),
      height: Math.round(bounds.height),
      maximized: win.isMaximized()
    }
    writes = writes.then(() => writeJsonFile(opts.path, state)).catch((err: unknown) => opts.onError?.(err))
    return writes
  }
  const schedule = () => {
    clearTimeout(timer)
    timer = setTimeout(() => void save(), debounceMs)
  }
  // 'close' comes before the window is destroyed, while its bounds can still be read.
  const onClose = () => void save()
  const listeners: [WindowEvent, () => void][] = [
    ['move', schedule],
    ['resize', schedule],
    ['maximize', schedule],
    ['unmaximize', schedule],
    ['close', onClose]
  ]
  for (const [event, listener] of listeners) win.on(event, listener)

  return {
    flush: () => (timer !== undefined ? save() : writes),
    stop() {
      clearTimeout(timer)
      timer = undefined
      for (const [event, listener] of listeners) win.removeListener(event, listener)
    }
  }
}
