import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setupDesktopSettings } from '../../main/desktop-settings.js'
import { setupLoginItem } from '../../main/login-item.js'
import type { ShellCommand } from '../../main/shell-channel.js'
import type { SecretStoreStatus } from '../../main/secrets.js'

const secrets: SecretStoreStatus = { available: true, backend: 'gnome_libsecret', weak: false, warning: null, corrupt: null }

test('the page turns launch-at-login on and off: a real autostart entry appears and goes, and every answer is what the OS has', async (t) => {
  const config = await mkdtemp(join(tmpdir(), 'parley-desktop-settings-'))
  t.after(() => rm(config, { recursive: true, force: true }))
  const loginItem = setupLoginItem({
    platform: 'linux',
    app: { setLoginItemSettings: () => assert.fail('not on Linux'), getLoginItemSettings: () => assert.fail('not on Linux') },
    env: { XDG_CONFIG_HOME: config },
    homeDir: '/nonexistent',
    execPath: '/opt/Parley/parley',
    args: ['--hidden']
  })
  const sent: ShellCommand[] = []
  const errors: unknown[] = []
  const settings = setupDesktopSettings({ loginItem, secrets: () => secrets, send: (c) => void sent.push(c), onError: (e) => void errors.push(e) })
  const autostart = async () => (await readdir(join(config, 'autostart')).catch(() => [] as string[])).filter((f) => f.endsWith('.desktop'))

  await settings.onReport({ type: 'desktop-settings' })
  assert.deepEqual(sent.at(-1), { type: 'desktop-settings', openAtLogin: false, secrets: { available: true, weak: false, backend: 'gnome_libsecret' } })
  await settings.onReport({ type: 'desktop-settings', openAtLogin: true })
  assert.deepEqual(await autostart(), ['parley.desktop'])
  assert.equal((sent.at(-1) as { openAtLogin: boolean }).openAtLogin, true)
  await settings.onReport({ type: 'desktop-settings', openAtLogin: false })
  assert.deepEqual(await autostart(), [])
  assert.equal((sent.at(-1) as { openAtLogin: boolean }).openAtLogin, false)
  // Other reports are not this module's business.
  await settings.onReport({ type: 'calls', active: [] })
  assert.equal(sent.length, 3)
  assert.deepEqual(errors, [])
})

test('a login item that cannot be written is reported, and the page gets no false answer', async () => {
  const sent: ShellCommand[] = []
  const errors: unknown[] = []
  const settings = setupDesktopSettings({
    loginItem: { isEnabled: async () => false, setEnabled: async () => Promise.reject(new Error('EACCES: autostart folder')) },
    secrets: () => secrets,
    send: (c) => void sent.push(c),
    onError: (e) => void errors.push(e)
  })
  await settings.onReport({ type: 'desktop-settings', openAtLogin: true })
  assert.deepEqual(sent, [])
  assert.match(String(errors[0]), /EACCES/)
})
