import type { BrowserWindow } from 'electron'
import { APP_ENTRY_URL } from './app-protocol.js'
import { isTrustedSender, type FrameLike } from './ipc-guard.js'
import { originOf } from './permissions.js'
import { DEFAULT_WINDOW_SIZES, type Rect } from './window-state.js'

/** Where the window opens: main/window-state.ts's `placeWindow` result fits. */
export interface InitialBounds extends Rect {
  maximized?: boolean
}

export interface MainWindowOptions {
  /** Electron's `BrowserWindow` (injected so the logic runs under plain Node in tests). */
  BrowserWindow: typeof BrowserWindow
  /** Compiled preload script (CommonJS; see main/preload.cts). */
  preloadPath: string
  /** The app page; `app://parley/app/index.html`, served by main/app-protocol.ts. */
  url?: string
  /** The first window's bounds; later windows open where the previous one closed. */
  bounds?: InitialBounds
  /** Each new window, before its page loads (e.g. main/window-state.ts's `trackWindowState`). */
  onCreated?: (win: BrowserWindow) => void
}

export interface MainWindow {
  /** Create the window if there is none, else restore and focus it. */
  show(): void
  /** True only for the top frame of the main window showing the app's origin. */
  isTopFrame(frame: FrameLike | null | undefined): boolean
}

/** The single main window. It is opened by `show()`, not by setup. */
export function setupMainWindow(opts: MainWindowOptions): MainWindow {
  const url = opts.url ?? APP_ENTRY_URL
  const appOrigin = originOf(url)
  if (appOrigin === null) throw new Error(`the app page needs an origin: ${url}`)
  let bounds = opts.bounds
  let window: BrowserWindow | null = null

  const create = (): BrowserWindow => {
    const { maximized = false, ...rect } = bounds ?? { width: DEFAULT_WINDOW_SIZES.width, height: DEFAULT_WINDOW_SIZES.height }
    const win = new opts.BrowserWindow({
      title: 'Parley',
      ...rect,
      minWidth: DEFAULT_WINDOW_SIZES.minWidth,
      minHeight: DEFAULT_WINDOW_SIZES.minHeight,
      show: false,
      // Electron security checklist, items 2–4, 6, 8–10: every default that matters spelled out,
      // so a change of default or a stray option cannot loosen them. The default session is kept:
      // the app protocol and the permission handlers (main/security.ts) are registered there.
      webPreferences: {
        preload: opts.preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        // Chromium's spellchecker downloads dictionaries from Google's CDN; names and chat are not prose.
        spellcheck: false
      }
    })
    if (maximized) win.maximize()
    win.once('ready-to-show', () => win.show())
    win.on('close', () => {
      // Reopening (dock icon, second instance) brings the window back where the user left it.
      bounds = { ...win.getNormalBounds(), maximized: win.isMaximized() }
    })
    win.on('closed', () => {
      if (window === win) window = null
    })
    opts.onCreated?.(win)
    void win.loadURL(url)
    return win
  }

  return {
    show() {
      if (!window) {
        window = create()
        return
      }
      if (window.isMinimized()) window.restore()
      window.show()
      window.focus()
    },
    isTopFrame(frame) {
      const win = window
      if (!win || win.isDestroyed()) return false
      // frameTreeNodeId identifies the top frame; the origin check rejects anything but our
      // own page even if navigation blocking (main/security.ts) were bypassed.
      return isTrustedSender(frame, { topFrame: () => win.webContents.mainFrame, appOrigin })
    }
  }
}
