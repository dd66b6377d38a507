import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createElement as h } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import type { ShellCommand, ShellReport } from '../../app/api/desktop-bridge.js'
import { secretsText, setOpenAtLogin, watchDesktopSettings, type DesktopSettingsState } from '../../renderer/src/desktop/desktop-settings.js'
import { DesktopSettingsView } from '../../renderer/src/views/DesktopSettings.js'

test('the settings view asks the shell, follows its answers, and sends a change', async () => {
  const reports: ShellReport[] = []
  let listener: (c: ShellCommand) => void = () => {}
  const shell = { report: async (r: ShellReport) => void reports.push(r), onCommand: (fn: (c: ShellCommand) => void) => ((listener = fn), () => (listener = () => {})) }
  const states: DesktopSettingsState[] = []
  const off = watchDesktopSettings(shell, (s) => void states.push(s), (err) => assert.fail(String(err)))
  assert.deepEqual(reports, [{ type: 'desktop-settings' }])
  listener({ type: 'restart-ice' })
  listener({ type: 'desktop-settings', openAtLogin: true, secrets: { available: true, weak: false, backend: null } })
  assert.deepEqual(states, [{ openAtLogin: true, secrets: { available: true, weak: false, backend: null } }])
  setOpenAtLogin(shell, false, (err) => assert.fail(String(err)))
  assert.deepEqual(reports.at(-1), { type: 'desktop-settings', openAtLogin: false })
  off()
})

test('the view shows the login switch and says plainly where passwords are kept', () => {
  const html = (state: DesktopSettingsState) => renderToStaticMarkup(h(DesktopSettingsView, { state, onOpenAtLogin: () => {} }))
  const on = html({ openAtLogin: true, secrets: { available: true, weak: false, backend: 'kwallet5' } })
  assert.match(on, /data-testid="setting-open-at-login" checked=""/)
  assert.match(on, /encrypted by the system key store \(kwallet5\)/)
  assert.match(html({ openAtLogin: false, secrets: { available: true, weak: true, backend: 'basic_text' } }), /class="warning"[^>]*>No secret service is running/)
  assert.equal(secretsText({ available: false, weak: false, backend: null }).startsWith('No system key store'), true)
})
