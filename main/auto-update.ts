import { existsSync } from 'node:fs'
import { join } from 'node:path'
import electronUpdater, { type AppUpdater } from 'electron-updater'
import type { Logger } from 'pino'

/** What setupAutoUpdate uses of electron-updater's `autoUpdater` (an AppUpdater). */
export interface AutoUpdaterLike {
  logger: AppUpdater['logger']
  autoDownload: boolean
  autoInstallOnAppQuit: boolean
  on(event: 'error', listener: (err: Error) => void): unknown
  on(event: 'update-available' | 'update-downloaded', listener: (info: { version: string }) => void): unknown
  checkForUpdatesAndNotify(): Promise<unknown>
}

export interface AutoUpdateOptions {
  log: Logger
  /** False turns updates off: a distro package or a managed install updates Parley its own way. */
  enabled: boolean
  /** Electron's `app.isPackaged`: a development run has nothing to update. */
  isPackaged: boolean
  /** Defaults to electron-updater's `autoUpdater`; tests inject one. */
  updater?: () => AutoUpdaterLike
  /**
   * Whether the build carries an update feed (electron-builder writes
   * resources/app-update.yml when PARLEY_UPDATE_URL was set, electron-builder.ts).
   */
  hasFeed?: () => boolean
  /** How often to look again while running; default 6 h. */
  intervalMs?: number
  setInterval?: (fn: () => void, ms: number) => unknown
  clearInterval?: (timer: unknown) => void
}

export interface AutoUpdate {
  /** Look for an update now; never rejects (failures are logged). */
  check(): Promise<void>
  stop(): void
}

const SIX_HOURS_MS = 6 * 60 * 60 * 1000

/**
 * Keep an installed Parley current with electron-updater: look for a release at
 * start and every few hours, download it in the background and install it when the
 * user quits (never in the middle of a call), with the OS notification
 * electron-updater shows once it is ready. Returns null when updates are off.
 */
export function setupAutoUpdate(opts: AutoUpdateOptions): AutoUpdate | null {
  const log = opts.log.child({ module: 'auto-update' })
  if (!opts.isPackaged) {
    log.debug('auto-update off: not a packaged app')
    return null
  }
  if (!opts.enabled) {
    log.info('auto-update disabled')
    return null
  }
  const hasFeed = opts.hasFeed ?? (() => existsSync(join(process.resourcesPath, 'app-update.yml')))
  if (!hasFeed()) {
    log.info('auto-update off: this build has no update feed')
    return null
  }

  const updater = (opts.updater ?? (() => electronUpdater.autoUpdater))()
  updater.logger = {
    info: (message?: unknown) => log.debug(String(message)),
    warn: (message?: unknown) => log.warn(String(message)),
    error: (message?: unknown) => log.warn(String(message)),
    debug: (message: string) => log.debug(message)
  }
  updater.autoDownload = true
  updater.autoInstallOnAppQuit = true
  // electron-updater both emits 'error' and rejects the check; the rejection is handled in check().
  updater.on('error', (err: Error) => log.warn({ err }, 'update failed'))
  updater.on('update-available', (info) => log.info({ version: info.version }, 'update available; downloading'))
  updater.on('update-downloaded', (info) => log.info({ version: info.version }, 'update ready; installs on quit'))

  const check = async (): Promise<void> => {
    try {
      await updater.checkForUpdatesAndNotify()
    } catch (err) {
      log.warn({ err }, 'update check failed')
    }
  }
  const every = opts.setInterval ?? ((fn, ms) => setInterval(fn, ms).unref())
  const clear = opts.clearInterval ?? ((timer) => clearInterval(timer as NodeJS.Timeout))
  const timer = every(() => void check(), opts.intervalMs ?? SIX_HOURS_MS)
  void check()
  return { check, stop: () => clear(timer) }
}
