import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { safeStorage as SafeStorage } from 'electron'
import { setupSecrets, type SafeStorageLike } from '../../main/secrets.js'

// Compile-time only: Electron's safeStorage fits.
export const _fits: (s: typeof SafeStorage) => SafeStorageLike = (s) => s

type Backend = ReturnType<SafeStorageLike['getSelectedStorageBackend']>

/** A reversible stand-in for the OS key store: XOR with a key, so the file never holds the text. */
function fakeSafeStorage(opts: { available?: boolean; backend?: Backend; key?: number } = {}): SafeStorageLike {
  const key = opts.key ?? 0x5a
  return {
    isEncryptionAvailable: () => opts.available ?? true,
    getSelectedStorageBackend: () => opts.backend ?? 'gnome_libsecret',
    encryptString: (text) => Buffer.concat([Buffer.from('v10'), Buffer.from(text, 'utf8').map((b) => b ^ key)]),
    decryptString: (data) => {
      if (data.subarray(0, 3).toString() !== 'v10') throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.')
      return Buffer.from(data.subarray(3).map((b) => b ^ key)).toString('utf8')
    }
  }
}

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-secrets-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('secrets round-trip through safeStorage; the file holds no plain text and survives a restart', async (t) => {
  const dir = await tmp(t)
  const secrets = setupSecrets({ safeStorage: fakeSafeStorage(), platform: 'linux', dir })
  assert.equal(await secrets.get('gateway:sip:alice@pbx.example'), null)
  await Promise.all([secrets.set('gateway:sip:alice@pbx.example', 'hunter2 ✓'), secrets.set('gateway:sip:bob@pbx.example', 'swordfish')])
  assert.equal(await secrets.get('gateway:sip:alice@pbx.example'), 'hunter2 ✓')
  const text = await readFile(join(dir, 'secrets.json'), 'utf8')
  assert.ok(!text.includes('hunter2') && !text.includes('swordfish'), text)
  assert.deepEqual(await readdir(dir), ['secrets.json'], 'no temp files left behind')

  const again = setupSecrets({ safeStorage: fakeSafeStorage(), platform: 'linux', dir })
  assert.deepEqual(await again.names(), ['gateway:sip:alice@pbx.example', 'gateway:sip:bob@pbx.example'])
  assert.equal(await again.get('gateway:sip:bob@pbx.example'), 'swordfish')
  assert.equal(await again.delete('gateway:sip:bob@pbx.example'), true)
  assert.equal(await again.delete('gateway:sip:bob@pbx.example'), false)
  assert.deepEqual(await again.names(), ['gateway:sip:alice@pbx.example'])
})

test('status: a real key store is fine; Linux basic_text or unknown is a warning; no encryption refuses to store', async (t) => {
  const dir = await tmp(t)
  assert.deepEqual(setupSecrets({ safeStorage: fakeSafeStorage(), platform: 'linux', dir }).status(), {
    available: true,
    backend: 'gnome_libsecret',
    weak: false,
    warning: null,
    corrupt: null
  })
  for (const backend of ['basic_text', 'unknown'] as const) {
    const status = setupSecrets({ safeStorage: fakeSafeStorage({ backend }), platform: 'linux', dir }).status()
    assert.equal(status.weak, true, backend)
    assert.match(status.warning!, /secret service|keyring|wallet/i)
  }
  // getSelectedStorageBackend is Linux-only: elsewhere it is not asked.
  const mac = setupSecrets({ safeStorage: { ...fakeSafeStorage(), getSelectedStorageBackend: () => assert.fail('asked on macOS') }, platform: 'darwin', dir }).status()
  assert.deepEqual([mac.available, mac.backend, mac.weak], [true, null, false])

  const none = setupSecrets({ safeStorage: fakeSafeStorage({ available: false }), platform: 'win32', dir })
  assert.equal(none.status().available, false)
  assert.ok(none.status().warning)
  await assert.rejects(none.set('x', 'y'), { code: 'SECRETS_UNAVAILABLE' })
})

test('a corrupt file is reported and kept aside; the next save starts a fresh one', async (t) => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'secrets.json'), '{"version":1,"secrets":{"a":{"data":42}}}')
  const errors: unknown[] = []
  const secrets = setupSecrets({ safeStorage: fakeSafeStorage(), platform: 'linux', dir, onError: (e) => errors.push(e) })
  assert.equal(await secrets.get('a'), null)
  assert.match(secrets.status().corrupt!, /secrets\.json/)
  assert.equal((errors[0] as { code: string }).code, 'DATA_CORRUPT')
  assert.equal(await readFile(join(dir, 'secrets.json'), 'utf8'), '{"version":1,"secrets":{"a":{"data":42}}}', 'left untouched by reads')
  await secrets.set('b', 'fresh')
  const files = (await readdir(dir)).sort()
  assert.equal(files.length, 2)
  assert.match(files[1]!, /^secrets\.json\.corrupt-\d+$/)
  assert.equal(await readFile(join(dir, files[1]!), 'utf8'), '{"version":1,"secrets":{"a":{"data":42}}}')
  assert.equal(await secrets.get('b'), 'fresh')
  assert.equal(secrets.status().corrupt, null)
})

test('a secret encrypted under another key store cannot be read: SECRET_UNREADABLE; a bad name is refused', async (t) => {
  const dir = await tmp(t)
  await setupSecrets({ safeStorage: fakeSafeStorage(), platform: 'linux', dir }).set('old', 'x')
  const other = setupSecrets({ safeStorage: { ...fakeSafeStorage(), decryptString: () => assert.fail('wrong key') }, platform: 'linux', dir })
  await assert.rejects(other.get('old'), { code: 'SECRET_UNREADABLE' })
  await assert.rejects(other.set('', 'x'), { code: 'BAD_REQUEST' })
})

test('a corrupt file mended by hand is read again and the warning goes away', async (t) => {
  const dir = await tmp(t)
  await writeFile(join(dir, 'secrets.json'), 'not json')
  const secrets = setupSecrets({ safeStorage: fakeSafeStorage(), platform: 'linux', dir })
  assert.deepEqual(await secrets.names(), [])
  assert.ok(secrets.status().corrupt)
  await writeFile(join(dir, 'secrets.json'), '{"version":1,"secrets":{}}')
  assert.deepEqual(await secrets.names(), [])
  assert.equal(secrets.status().corrupt, null)
})
