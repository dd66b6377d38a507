/** @jsxRuntime automatic */
import { useEffect, useState } from 'react'
import type { ShellBridge } from '../../../app/api/desktop-bridge.js'
import { secretsText, setOpenAtLogin, watchDesktopSettings, type DesktopSettingsState } from '../desktop/desktop-settings.js'

/** The desktop app's own settings (launch at login, where passwords are kept); nothing in web mode. */
export function DesktopSettings({ shell }: { shell: ShellBridge | null }) {
  const [state, setState] = useState<DesktopSettingsState | null>(null)
  useEffect(() => (shell ? watchDesktopSettings(shell, setState, console.error) : undefined), [shell])
  if (!shell || !state) return null
  return <DesktopSettingsView state={state} onOpenAtLogin={(enabled) => setOpenAtLogin(shell, enabled, console.error)} />
}

export function DesktopSettingsView({ state, onOpenAtLogin }: { state: DesktopSettingsState; onOpenAtLogin: (enabled: boolean) => void }) {
  return (
    <fieldset className="stack">
      <legend>This computer</legend>
      <label className="check">
        <input type="checkbox" data-testid="setting-open-at-login" checked={state.openAtLogin} onChange={(e) => onOpenAtLogin(e.target.checked)} />
        Start Parley when I log in (in the tray)
      </label>
      <p className={state.secrets.available && !state.secrets.weak ? undefined : 'warning'} data-testid="setting-secrets">
        {secretsText(state.secrets)}
      </p>
    </fieldset>
  )
}
