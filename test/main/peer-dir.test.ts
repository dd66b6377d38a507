import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { desktopPeerDir } from '../../main/peer-dir.js'
import { IDENTITY_FILE } from '../../app/identity/identity-store.js'

async function home(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'parley-peer-dir-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return { dir, userData: join(dir, 'config', 'Parley'), env: { XDG_DATA_HOME: join(dir, 'data') } }
}

test('the desktop peer lives where the parley CLI looks by default, so the CLI reaches it', async (t) => {
  const h = await home(t)
  const base = { userData: h.userData, userDataSwitch: false, platform: 'linux' as const, exists: existsSync }
  assert.equal(desktopPeerDir({ ...base, env: h.env }), join(h.dir, 'data', 'parley', 'peer'))
  assert.equal(desktopPeerDir({ ...base, env: { ...h.env, PARLEY_DATA_DIR: '/srv/p' } }), '/srv/p')
  // A separate Electron profile keeps its own peer.
  assert.equal(desktopPeerDir({ ...base, env: h.env, userDataSwitch: true }), join(h.userData, 'peer'))
})

test('a peer already created inside userData stays there, unless the shared folder has one too', async (t) => {
  const h = await home(t)
  const base = { userData: h.userData, userDataSwitch: false, platform: 'linux' as const, exists: existsSync, env: h.env }
  await mkdir(join(h.userData, 'peer'), { recursive: true })
  assert.equal(desktopPeerDir(base), join(h.dir, 'data', 'parley', 'peer'), 'an empty old folder is no identity')
  await writeFile(join(h.userData, 'peer', IDENTITY_FILE), '{}')
  assert.equal(desktopPeerDir(base), join(h.userData, 'peer'))
  await mkdir(join(h.dir, 'data', 'parley', 'peer'), { recursive: true })
  await writeFile(join(h.dir, 'data', 'parley', 'peer', IDENTITY_FILE), '{}')
  assert.equal(desktopPeerDir(base), join(h.dir, 'data', 'parley', 'peer'))
})
