import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { App } from 'electron'
import { autostartDir, desktopExec, setupLoginItem, type LoginItemApp } from '../../main/login-item.js'

// Compile-time only: Electron's app fits.
export const _fits: (a: App) => LoginItemApp = (a) => a

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-login-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function fakeApp() {
  const calls: unknown[] = []
  let open = false
  const app: LoginItemApp = {
    setLoginItemSettings: (s) => {
      calls.push(s)
      open = s.openAtLogin ?? false
    },
    getLoginItemSettings: () => ({ openAtLogin: open })
  }
  return { app, calls }
}

test('the autostart folder honours an absolute XDG_CONFIG_HOME, else ~/.config', () => {
  assert.equal(autostartDir({ XDG_CONFIG_HOME: '/cfg' }, '/home/u'), join('/cfg', 'autostart'))
  assert.equal(autostartDir({}, '/home/u'), join('/home/u', '.config', 'autostart'))
  // The spec says a relative value is invalid and must be ignored.
  assert.equal(autostartDir({ XDG_CONFIG_HOME: 'rel' }, '/home/u'), join('/home/u', '.config', 'autostart'))
})

test('Exec quoting follows the Desktop Entry spec', () => {
  assert.equal(desktopExec('/usr/bin/parley', ['--hidden']), '/usr/bin/parley --hidden')
  assert.equal(desktopExec('/opt/My Apps/parley', []), '"/opt/My Apps/parley"')
  assert.equal(desktopExec('/x/$HOME"`\\q', ['100%']), '"/x/\\$HOME\\"\\`\\\\q" 100%%')
})

test('Linux: enabling writes an XDG autostart entry, disabling removes it', async (t) => {
  const home = await tmp(t)
  const { app, calls } = fakeApp()
  const item = setupLoginItem({ platform: 'linux', app, env: { XDG_CONFIG_HOME: join(home, 'cfg') }, homeDir: home, execPath: '/opt/Parley/parley', args: ['--hidden'] })
  assert.equal(await item.isEnabled(), false)
  await item.setEnabled(true)
  assert.equal(await item.isEnabled(), true)
  const dir = join(home, 'cfg', 'autostart')
  assert.deepEqual(await readdir(dir), ['parley.desktop'])
  const entry = await readFile(join(dir, 'parley.desktop'), 'utf8')
  assert.match(entry, /^\[Desktop Entry\]\n/)
  assert.match(entry, /\nType=Application\n/)
  assert.match(entry, /\nName=Parley\n/)
  assert.match(entry, /\nExec=\/opt\/Parley\/parley --hidden\n/)
  assert.match(entry, /\nX-GNOME-Autostart-enabled=true\n/)
  await item.setEnabled(true)
  await item.setEnabled(false)
  assert.deepEqual(await readdir(dir), [])
  await item.setEnabled(false)
  assert.equal(await item.isEnabled(), false)
  // Electron has no login items on Linux: app's API is never called there.
  assert.deepEqual(calls, [])
})

test('Linux: an entry the user disabled in their session settings (Hidden=true) counts as off', async (t) => {
  const home = await tmp(t)
  const dir = join(home, '.config', 'autostart')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'parley.desktop'), '[Desktop Entry]\nType=Application\nName=Parley\nExec=parley\nHidden=true\n')
  const item = setupLoginItem({ platform: 'linux', app: fakeApp().app, env: {}, homeDir: home, execPath: '/usr/bin/parley' })
  assert.equal(await item.isEnabled(), false)
  await item.setEnabled(true)
  assert.equal(await item.isEnabled(), true)
})

test('macOS and Windows use app.setLoginItemSettings, with the arguments on Windows', async () => {
  for (const platform of ['darwin', 'win32'] as const) {
    const { app, calls } = fakeApp()
    const item = setupLoginItem({ platform, app, env: {}, homeDir: '/nonexistent', execPath: 'C:\\Parley\\Parley.exe', args: ['--hidden'] })
    assert.equal(await item.isEnabled(), false)
    await item.setEnabled(true)
    assert.equal(await item.isEnabled(), true)
    await item.setEnabled(false)
    assert.deepEqual(calls, [
      { openAtLogin: true, args: ['--hidden'] },
      { openAtLogin: false, args: ['--hidden'] }
    ])
  }
})
