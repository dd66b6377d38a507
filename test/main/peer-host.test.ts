import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setupPeer } from '../../main/peer-host.js'
import { silentLogger } from '../../app/log.js'
import { Lab } from '../helpers/overlay.js'
import { IDENTITY_FILE } from '../../app/identity/identity-store.js'
import { runCli } from '../helpers/cli.js'

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

test('the parley CLI reaches the desktop peer over its control socket, and one data directory has one peer', async () => {
  const dataDir = await lab.tempDir()
  const host = setupPeer({ dataDir, aor: 'sip:desk3@example.org', bootstrap: lab.bootstrap, log: silentLogger() })
  await host.ready
  assert.equal(host.status().state, 'running')

  const status = await runCli(['status', '--data-dir', dataDir, '--json'])
  assert.equal(status.code, 0, status.stderr)
  assert.equal(JSON.parse(status.stdout).aor, 'sip:desk3@example.org')
  const routes = await runCli(['diag', 'routes', '--data-dir', dataDir, '--json'])
  assert.equal(routes.code, 0, routes.stderr)
  assert.ok(Array.isArray(JSON.parse(routes.stdout).routes.nodes))

  // Neither a second shell nor `parley serve` takes a data directory the shell runs on.
  const second = setupPeer({ dataDir, bootstrap: lab.bootstrap, log: silentLogger() })
  await second.ready
  const refused = second.status()
  assert.equal(refused.state === 'failed' && refused.error.code, 'DATA_DIR_IN_USE')
  const serve = await runCli(['serve', '--data-dir', dataDir, '--bootstrap', lab.bootstrap.join(','), '--lan', 'off'])
  assert.equal(serve.code, 1)
  assert.match(serve.stderr, /already running/)

  await host.close()
  const after = await runCli(['status', '--data-dir', dataDir])
  assert.equal(after.code, 1)
  assert.match(after.stderr, /PEER_NOT_RUNNING/)
})
