import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BrowserWindow, type WebFrameMain } from 'electron'

export interface MainWindowOptions {
  /** Compiled preload script (CommonJS; see main/preload.cts). */
  preloadPath: string
  /** `renderer/index.html`. */
  pagePath: string
}

export interface MainWindow {
  /** Create the window if there is none, else restore and focus it. */
  show(): void
  /** True only for the top frame of the main window showing our own page. */
  isTopFrame(frame: WebFrameMain | null): boolean
}

/** The single main window. It is opened by `show()`, not by setup. */
export function setupMainWindow(opts: MainWindowOptions): MainWindow {
  const pagePath = resolve(opts.pagePath)
  let window: BrowserWindow | null = null

  const create = (): BrowserWindow => {
    const win = new BrowserWindow({
      title: 'Parley',
      width: 960,
      height: 680,
      show: false,
      webPreferences: {
        preload: opts.preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false
      }
    })
    win.once('ready-to-show', () => win.show())
    win.on('closed', () => {
      if (window === win) window = null
    })
    void win.loadFile(opts.pagePath)
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
      if (!frame || !window || window.isDestroyed()) return false
      const top = window.webContents.mainFrame
      // frameTreeNodeId is browser-global and never reused; the page check rejects
      // anything but our own page even if navigation blocking were bypassed.
      return frame.frameTreeNodeId === top.frameTreeNodeId && frame.parent === null && filePathOf(frame.url) === pagePath
    }
  }
}

/** Compared as decoded paths: Chromium and Node may percent-encode a file URL differently. */
function filePathOf(url: string): string | null {
  try {
    return fileURLToPath(url) // drops ?query and #fragment; throws for non-file URLs
  } catch {
    return null
  }
}
