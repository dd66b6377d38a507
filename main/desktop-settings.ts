import type { ShellCommand, ShellReport } from './shell-channel.js'
import type { LoginItem } from './login-item.js'
import type { SecretStoreStatus } from './secrets.js'

export interface DesktopSettingsOptions {
  loginItem: LoginItem
  secrets: () => SecretStoreStatus
  /** To the page (`shell.send`). */
  send: (command: ShellCommand) => void
  onError: (err: unknown) => void
}

/**
 * The settings only the desktop app has, for the page's settings view: launch
 * at login (set here, in the OS) and where phone passwords are kept. Every
 * `desktop-settings` report is answered with the state as the OS now has it,
 * so the page shows what is true, not what it asked for.
 */
export function setupDesktopSettings(opts: DesktopSettingsOptions): { onReport(report: ShellReport): Promise<void> } {
  return {
    async onReport(report) {
      if (report.type !== 'desktop-settings') return
      try {
        if (report.openAtLogin !== undefined) await opts.loginItem.setEnabled(report.openAtLogin)
        const { available, weak, backend } = opts.secrets()
        opts.send({ type: 'desktop-settings', openAtLogin: await opts.loginItem.isEnabled(), secrets: { available, weak, backend } })
      } catch (err) {
        opts.onError(err)
      }
    }
  }
}
