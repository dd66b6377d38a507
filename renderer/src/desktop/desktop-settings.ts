import type { DesktopSecrets, ShellBridge } from '../../../app/api/desktop-bridge.js'

export interface DesktopSettingsState {
  openAtLogin: boolean
  secrets: DesktopSecrets
}

/**
 * Ask the shell for the desktop's own settings and follow its answers (each
 * change is answered with the state the OS now has). Returns the unsubscribe.
 */
export function watchDesktopSettings(shell: ShellBridge, onState: (state: DesktopSettingsState) => void, onError: (err: unknown) => void): () => void {
  const off = shell.onCommand((command) => {
    if (command.type === 'desktop-settings') onState({ openAtLogin: command.openAtLogin, secrets: command.secrets })
  })
  shell.report({ type: 'desktop-settings' }).catch(onError)
  return off
}

export function setOpenAtLogin(shell: ShellBridge, enabled: boolean, onError: (err: unknown) => void): void {
  shell.report({ type: 'desktop-settings', openAtLogin: enabled }).catch(onError)
}

/** One sentence on where phone passwords are kept, for the settings view. */
export function secretsText(s: DesktopSecrets): string {
  if (!s.available) return 'No system key store: the passwords of phones that register here are not protected by the OS.'
  if (s.weak) return 'No secret service is running: phone passwords are encrypted with a key anyone on this computer can find.'
  return `Phone passwords are encrypted by the system key store${s.backend ? ` (${s.backend})` : ''}.`
}
