import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setupPeer } from '../../main/peer-host.js'
import { silentLogger } from '../../app/log.js'
import { Lab } from '../helpers/overlay.js'
import { IDENTITY_FILE } from '../../app/identity/identity-store.js'

let lab: Lab
before(async () => {
  lab = await Lab.create(6)
})
after(() => lab.destroy())

test('with no AOR yet the shell starts no peer and creates no key, but serves the contract for first-run setup', async () => {
  const dataDir = await lab.tempDir()
  const host = setupPeer({ dataDir, bootstrap: lab.bootstrap, log: silentLogger() })
  await host.ready
  assert.deepEqual(host.status(), { state: 'no-identity' })
  assert.ok(!(await readdir(dataDir)).includes(IDENTITY_FILE))
  const { api } = await host.served
  assert.deepEqual(await api.handle('identity.get', {}), { aor: null, displayName: null, publicKey: null, fingerprint: null, state: 'setup' })
  await host.close()
})

test('the shell boots the peer in the background and closes it on quit', async () => {
  const dataDir = await lab.tempDir()
  const host = setupPeer({ dataDir, aor: 'sip:desk@example.org', bootstrap: lab.bootstrap, log: silentLogger() })
  await host.ready
  const status = host.status()
  assert.equal(status.state, 'running')
  assert.equal(status.state === 'running' && status.peer.aor, 'sip:desk@example.org')
  await host.close()
  await host.close()
  assert.deepEqual(host.status(), { state: 'closed' })
  // The AOR is remembered: the next launch needs no --aor.
  const again = setupPeer({ dataDir, bootstrap: lab.bootstrap, log: silentLogger() })
  await again.ready
  assert.equal(again.status().state, 'running')
  await again.close()
})

test('a broken bootstrap file fails the start with DATA_CORRUPT instead of crashing', async () => {
  const dataDir = await lab.tempDir()
  const bootstrapFile = join(dataDir, 'bootstrap.json')
  await writeFile(bootstrapFile, '{"nodes": 42}')
  const host = setupPeer({ dataDir, aor: 'sip:desk2@example.org', bootstrapFile, log: silentLogger() })
  await host.ready
  const status = host.status()
  assert.equal(status.state, 'failed')
  assert.equal(status.state === 'failed' && status.error.code, 'DATA_CORRUPT')
})
