import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadOrCreateIdentity } from '../../app/identity/identity-store.js'
import { ContactBook } from '../../app/identity/contact-book.js'
import { fingerprint } from '../../app/identity/fingerprint.js'
import { canonicalAor } from '../../app/identity/aor.js'

test('the key pair is created once, owner-only, and reloaded unchanged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-id-'))
  const first = await loadOrCreateIdentity(dir, { aor: 'sip:Alice@Example.org' })
  assert.equal(first.aor, 'sip:Alice@example.org')
  assert.equal((await stat(join(dir, 'identity.json'))).mode & 0o777, 0o600)
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  const again = await loadOrCreateIdentity(dir)
  assert.ok(again.keyPair.publicKey.equals(first.keyPair.publicKey))
  assert.equal(again.aor, first.aor)
  assert.match(again.fingerprint, /^(\d{5} ){7}\d{5}$/)
  assert.equal(again.fingerprint, fingerprint(first.keyPair.publicKey))
})

test('a corrupt or exposed identity file is reported and left untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-id-'))
  const path = join(dir, 'identity.json')
  await writeFile(path, '{"version":1,"publicKey":"zz"', { mode: 0o600 })
  await assert.rejects(loadOrCreateIdentity(dir), { code: 'IDENTITY_CORRUPT' })
  assert.equal(await readFile(path, 'utf8'), '{"version":1,"publicKey":"zz"')

  const dir2 = await mkdtemp(join(tmpdir(), 'parley-id-'))
  await loadOrCreateIdentity(dir2, { aor: 'sip:a@b.c' })
  await chmod(join(dir2, 'identity.json'), 0o644)
  await assert.rejects(loadOrCreateIdentity(dir2), { code: 'IDENTITY_CORRUPT', message: /chmod 600/ })
})

test('contacts pin on first contact and report identity changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-contacts-'))
  const book = await ContactBook.open(dir)
  const bob = canonicalAor('sip:bob@example.org')
  const real = Buffer.alloc(32, 1)
  const impostor = Buffer.alloc(32, 2)
  assert.equal((await book.resolve(bob, [real])).status, 'first-contact')
  const both = await book.resolve(bob, [impostor, real])
  assert.equal(both.status, 'pinned')
  assert.ok(both.publicKey.equals(real))
  assert.deepEqual(both.others, [impostor.toString('hex')])
  await assert.rejects(book.resolve(bob, [impostor]), { code: 'IDENTITY_CHANGED' })
  const reopened = await ContactBook.open(dir)
  assert.equal(reopened.get(bob)?.publicKey, real.toString('hex'))
  const carol = canonicalAor('sip:carol@example.org')
  await assert.rejects(reopened.resolve(carol, [real, impostor]), { code: 'IDENTITY_AMBIGUOUS' })
})
