import { join } from 'node:path'
import { app, powerMonitor } from 'electron'
import { createLogger } from '../app/log.js'
import { parseShellArgs } from './shell-args.js'
import { setupSecurity } from './security.js'
import { setupPeer } from './peer-host.js'
import { setupMainWindow } from './main-window.js'
import { setupIpc } from './ipc.js'
import { setupGracefulQuit } from './graceful-quit.js'

/**
 * Electron main process: a thin shell that boots the user's Peer (app/), owns
 * the window and bridges a read-only status view to the renderer.
 */
const log = createLogger()

// Every renderer sandboxed, whatever a later BrowserWindow forgets to say.
app.enableSandbox()

// One running instance per user data dir: the peer's data dir and DHT identity
// are not shareable. A second launch only brings the first one's window forward.
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  void app.whenReady().then(onReady, (err: unknown) => {
    log.fatal({ err }, 'startup failed')
    app.exit(1)
  })
}

function onReady(): void {
  const args = parseShellArgs(process.argv)
  // app.getAppPath() is the project root in development and the asar root when packaged.
  const root = app.getAppPath()

  setupSecurity()
  const peerHost = setupPeer({
    dataDir: join(app.getPath('userData'), 'peer'),
    aor: args.aor,
    bootstrap: args.bootstrap,
    bootstrapFile: join(root, 'resources', 'bootstrap.json'),
    // af() weighs relaying by whether the user is at the machine and on battery (docs/relay.md).
    relay: { idleS: () => powerMonitor.getSystemIdleTime(), onBattery: () => powerMonitor.isOnBatteryPower() },
    log
  })
  const mainWindow = setupMainWindow({
    preloadPath: join(import.meta.dirname, 'preload.cjs'),
    // TODO(Electron issue): load the built app (dist/renderer, built with base /app/) through a
    // custom protocol and give renderer/src/platform.ts an IPC transport; renderer/index.html
    // is now Vite's source page and does not run from file://.
    pagePath: join(root, 'renderer', 'index.html')
  })
  setupIpc({ status: () => peerHost.status(), isTrustedSender: (frame) => mainWindow.isTopFrame(frame) })
  setupGracefulQuit({ close: () => peerHost.close(), log })

  app.on('second-instance', () => mainWindow.show())
  // macOS: clicking the dock icon with no window open.
  app.on('activate', () => mainWindow.show())
  // The tray (later issue) keeps the peer reachable with no window; until then, closing quits.
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })

  mainWindow.show()
}
