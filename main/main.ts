import { homedir } from 'node:os'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import {
  app,
  BrowserWindow,
  ipcMain,
  Menu,
  MessageChannelMain,
  nativeImage,
  Notification,
  powerMonitor,
  powerSaveBlocker,
  protocol,
  safeStorage,
  screen,
  Tray
} from 'electron'
import type { Logger } from 'pino'
import type { ApiEventName, ApiEvent, PresenceStatus } from '../app/api/contract.js'
import type { PeerApi } from '../app/api/peer-api.js'
import { createLogger } from '../app/log.js'
import { registerAppScheme, setupAppProtocol } from './app-protocol.js'
import { setupAutoUpdate } from './auto-update.js'
import { setupGracefulQuit } from './graceful-quit.js'
import { IdleAwayPolicy, watchIdle } from './idle-away.js'
import { setupIpc } from './ipc.js'
import { setupLogFile } from './log-file.js'
import { setupLoginItem } from './login-item.js'
import { setupDesktopSettings } from './desktop-settings.js'
import { setupMainWindow } from './main-window.js'
import { setupNotifications } from './notifications.js'
import { setupPeer } from './peer-host.js'
import { desktopPeerDir } from './peer-dir.js'
import { setupPower } from './power.js'
import { findLinkInArgv, parseProtocolLink, PROTOCOL_SCHEMES, type CallLink } from './protocol-links.js'
import { setupRendererBridge } from './renderer-bridge.js'
import { setupSecrets } from './secrets.js'
import { setupSecurity } from './security.js'
import { parseShellArgs } from './shell-args.js'
import { setupShellChannel, type ShellReport } from './shell-channel.js'
import { setupTray } from './tray.js'
import { loadWindowState, trackWindowState, WINDOW_STATE_FILE, type WindowStateTracker } from './window-state.js'

/**
 * Electron main process: a thin shell that boots the user's Peer (app/), serves
 * the renderer from app://parley, bridges the contract and SIP over
 * MessagePorts, and does what only the desktop can: tray, notifications, sleep,
 * call links, launch at login. Each module sets itself up; the order below matters
 * only where noted.
 */

// Every renderer sandboxed, whatever a later BrowserWindow forgets to say.
app.enableSandbox()
// Before ready: privileged schemes can only be registered then.
registerAppScheme(protocol)

// Call links that arrive before the app is ready (macOS `open-url` at launch).
const earlyLinks: CallLink[] = []
let onLink: (link: CallLink) => void = (link) => void earlyLinks.push(link)
app.on('open-url', (event, url) => {
  event.preventDefault()
  const link = parseProtocolLink(url)
  if (link) onLink(link)
})

// One running instance per user data dir: the peer's data dir and DHT identity are
// not shareable. A second launch hands its arguments (a call link) to the first.
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  // Windows and Linux: the OS starts the registered handler with the link as an argument.
  for (const scheme of PROTOCOL_SCHEMES) if (app.isPackaged && !app.isDefaultProtocolClient(scheme)) app.setAsDefaultProtocolClient(scheme)
  void app.whenReady().then(onReady, (err: unknown) => {
    createLogger().fatal({ err }, 'startup failed')
    app.exit(1)
  })
}

async function onReady(): Promise<void> {
  const args = parseShellArgs(process.argv)
  // app.getAppPath() is the project root in development and the asar root when packaged.
  const root = app.getAppPath()
  const userData = app.getPath('userData')
  const logFile = await setupLogFile({ dir: join(userData, 'logs'), stderr: !app.isPackaged })
  const log = logFile.log
  const reportTo = (what: string) => (err: unknown) => log.warn({ err }, what)

  setupSecurity({ log })
  setupAppProtocol(protocol, join(root, 'dist', 'renderer'))

  const peerHost = setupPeer({
    dataDir: desktopPeerDir({ userData, userDataSwitch: app.commandLine.hasSwitch('user-data-dir'), env: process.env, platform: process.platform, exists: existsSync }),
    aor: args.aor,
    bootstrap: args.bootstrap,
    bootstrapFile: join(root, 'resources', 'bootstrap.json'),
    // af() weighs relaying by whether the user is at the machine and on battery (docs/relay.md).
    relay: { idleS: () => powerMonitor.getSystemIdleTime(), onBattery: () => powerMonitor.isOnBatteryPower() },
    log
  })
  const served = peerHost.served
  served.catch(() => {}) // the failure is in peerHost.status(); the bridge answers with it

  let tracker: WindowStateTracker | null = null
  let currentWindow: BrowserWindow | null = null
  const bounds = await loadWindowState(join(userData, WINDOW_STATE_FILE), screen, { onError: reportTo('window state unreadable') })
  const mainWindow = setupMainWindow({
    BrowserWindow,
    preloadPath: join(import.meta.dirname, 'preload.cjs'),
    bounds,
    onCreated: (win) => {
      currentWindow = win
      tracker = trackWindowState(win, { path: join(userData, WINDOW_STATE_FILE), onError: reportTo('window state not saved') })
      win.webContents.on('did-start-loading', () => shell.pageLoading())
      win.on('show', () => tray.update({ windowVisible: true }))
      win.on('hide', () => tray.update({ windowVisible: false }))
      win.on('focus', () => tray.update({ missedCalls: 0 }))
      win.on('closed', () => {
        if (currentWindow === win) currentWindow = null
        tray.update({ windowVisible: false })
      })
    }
  })
  const isTrustedSender = (frame: Parameters<typeof mainWindow.isTopFrame>[0]) => mainWindow.isTopFrame(frame)
  const show = () => mainWindow.show()

  const bridge = setupRendererBridge({ peer: served, isTrustedSender, log, ipc: ipcMain, newChannel: () => new MessageChannelMain() })
  setupIpc({ status: () => peerHost.status(), isTrustedSender })

  const shell = setupShellChannel({
    ipc: ipcMain,
    isTrustedSender,
    page: () => (currentWindow && !currentWindow.isDestroyed() ? currentWindow.webContents : null),
    onReport: (report) => onShellReport(report),
    log
  })

  const api = (method: string, params: unknown) => served.then((s) => s.api.handle(method, params))
  const idle = new IdleAwayPolicy({ status: 'available', setPresence: (status) => void api('presence.set', { status }), onError: reportTo('auto-away failed') })
  const idleWatch = watchIdle(idle, powerMonitor)

  const tray = setupTray({
    createTray: (image) => new Tray(image),
    Menu,
    nativeImage,
    iconDir: join(root, 'resources', 'tray'),
    initial: { status: 'offline', notificationsMuted: false, missedCalls: 0, unreadMessages: 0, newVoicemails: 0, windowVisible: !args.hidden, platform: process.platform },
    setBadgeCount: (count) => void app.setBadgeCount(count),
    setStatus: async (status: PresenceStatus) => {
      idle.userChangedStatus(status)
      await api('presence.set', { status })
    },
    showWindow: show,
    hideWindow: () => currentWindow?.hide(),
    setMuted: (muted) => log.info({ muted }, 'notifications muted'),
    quit: () => app.quit(),
    onError: reportTo('tray action failed')
  })

  const notifications = setupNotifications({
    Notification,
    platform: process.platform,
    isMuted: () => tray.state().notificationsMuted,
    isWindowFocused: () => currentWindow?.isFocused() ?? false,
    openRoute: (route) => {
      show()
      shell.send({ type: 'route', route })
    },
    answer: (callId) => {
      show()
      shell.send({ type: 'answer', callId })
    },
    decline: (callId) => shell.send({ type: 'decline', callId }),
    onError: reportTo('notification failed')
  })

  const power = setupPower({
    powerMonitor,
    powerSaveBlocker,
    suspend: async () => (await served).session.peer?.suspend(),
    resume: async () => (await served).session.peer?.resume(),
    onResumed: () => shell.send({ type: 'restart-ice' }),
    onError: reportTo('suspend/resume handling failed')
  })

  let ringing = new Set<string>()
  let desktopSettings: ReturnType<typeof setupDesktopSettings> | null = null
  function onShellReport(report: ShellReport): void {
    if (report.type === 'desktop-settings') void desktopSettings?.onReport(report)
    else if (report.type === 'ringing') {
      ringing.add(report.callId)
      notifications.incomingCall({ callId: report.callId, peer: report.peer, peerName: report.peerName ?? null })
    } else if (report.type === 'calls') {
      const active = new Set(report.active)
      for (const id of ringing) if (!active.has(id)) notifications.callEnded(id)
      ringing = new Set([...ringing].filter((id) => active.has(id)))
      power.setActiveCalls(active)
    }
  }

  // The peer's events drive the tray's presence, counters and the notifications.
  const unread = new Map<string, number>()
  const onEvent = <E extends ApiEventName>(name: E, data: ApiEvent<E>) => {
    notifications.event(name, data)
    if (name === 'presence') tray.update({ status: (data as ApiEvent<'presence'>).status })
    else if (name === 'buddy') {
      const buddy = data as ApiEvent<'buddy'>
      unread.set(buddy.aor, buddy.unread)
      tray.update({ unreadMessages: [...unread.values()].reduce((a, b) => a + b, 0) })
    } else if (name === 'mailbox') tray.update({ newVoicemails: (data as ApiEvent<'mailbox'>).voicemail.new })
    else if (name === 'call') {
      const record = data as ApiEvent<'call'>
      if (record.outcome === 'missed' && !currentWindow?.isFocused()) tray.update({ missedCalls: tray.state().missedCalls + 1 })
    }
  }
  void served.then((s: PeerApi) => {
    s.api.on('event', onEvent as (name: string, data: unknown) => void)
    return api('presence.get', {}).then((p) => tray.update({ status: (p as { status: PresenceStatus }).status }), reportTo('presence unknown'))
  }, () => {})

  const secrets = setupSecrets({ safeStorage, platform: process.platform, dir: userData, onError: reportTo('secret store') })
  const secretStatus = secrets.status()
  if (secretStatus.weak || !secretStatus.available) log.warn({ secrets: secretStatus }, 'no real secret store: gateway passwords are not protected by the OS')
  const loginItem = setupLoginItem({ platform: process.platform, app, env: process.env, homeDir: homedir(), execPath: process.env.APPIMAGE ?? process.execPath, args: ['--hidden'] })
  desktopSettings = setupDesktopSettings({ loginItem, secrets: () => secrets.status(), send: (command) => shell.send(command), onError: reportTo('desktop settings') })
  const updates = setupAutoUpdate({ log, enabled: process.env.PARLEY_NO_AUTO_UPDATE !== '1', isPackaged: app.isPackaged })

  setupGracefulQuit({
    log,
    close: async () => {
      updates?.stop()
      idleWatch.stop()
      power.stop()
      notifications.close()
      shell.close()
      bridge.close()
      await tracker?.flush()
      await peerHost.close()
      tray.destroy()
      await logFile.close()
    }
  })

  onLink = (link) => {
    show()
    shell.send({ type: 'dial', target: link.uri })
  }
  app.on('second-instance', (_event, argv) => {
    const link = findLinkInArgv(argv)
    if (link) onLink(link)
    else show()
  })
  // macOS: clicking the dock icon with no window open.
  app.on('activate', show)
  // Closing the window keeps Parley reachable from the tray; Quit leaves the overlay.
  app.on('window-all-closed', () => {})

  if (!args.hidden) show()
  for (const link of [...earlyLinks.splice(0), findLinkInArgv(process.argv)]) if (link) onLink(link)
  logStartup(log, peerHost.status().state)
}

function logStartup(log: Logger, state: string): void {
  log.info({ version: app.getVersion(), electron: process.versions.electron, state }, 'Parley desktop started')
}
