import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import HyperDHT from 'hyperdht'
import { MailboxStore } from '../../app/mailbox/mailbox-store.js'
import { mailboxId, openEnvelope, sealLetter } from '../../app/mailbox/envelope.js'

const alice = HyperDHT.keyPair()
const bob = HyperDHT.keyPair()
const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'parley-mailbox-'))
  dirs.push(d)
  return d
}

const letter = (seq: number, text = `message ${seq}`) => sealLetter(alice, bob.publicKey, { seq, sentAt: 1_790_000_000_000 + seq, kind: 'text', body: Buffer.from(text) })

test('envelopes are kept on disk per mailbox, survive a restart, and are deleted by id', async () => {
  const d = await dir()
  let store = await MailboxStore.open(d)
  const ids = []
  for (let seq = 1; seq <= 3; seq++) ids.push((await store.put(letter(seq), '203.0.113.1:4000')) as { ok: true; id: Buffer })
  assert.ok(ids.every((r) => r.ok))
  await store.close()

  store = await MailboxStore.open(d)
  const held = await store.list(mailboxId(bob.publicKey))
  assert.deepEqual(held.map((e) => openEnvelope(bob, e.envelope).seq), [1, 2, 3])
  assert.deepEqual(await store.mailboxes(), [mailboxId(bob.publicKey)])
  assert.equal((await store.delete(mailboxId(bob.publicKey), [ids[0]!.id, Buffer.alloc(32)])).removed, 1)
  assert.equal((await store.list(mailboxId(bob.publicKey))).length, 2)
  assert.equal((await store.list(mailboxId(alice.publicKey))).length, 0, 'another mailbox is empty')
  await store.close()
})

test('the same envelope stored twice is kept once', async () => {
  const store = await MailboxStore.open(await dir())
  const env = letter(1)
  assert.equal(((await store.put(env, 'a')) as { duplicate: boolean }).duplicate, false)
  assert.equal(((await store.put(env, 'a')) as { duplicate: boolean }).duplicate, true)
  assert.equal((await store.list(mailboxId(bob.publicKey))).length, 1)
  await store.close()
})

test('limits refuse with a code: mailbox count, mailbox bytes, per-requester rate; nothing stored is lost', async () => {
  const store = await MailboxStore.open(await dir(), { maxEnvelopes: 2, storesPerMinute: 1000 })
  await store.put(letter(1), 'a')
  await store.put(letter(2), 'a')
  assert.deepEqual(await store.put(letter(3), 'a'), { ok: false, code: 'MAILBOX_FULL' })
  await store.close()

  const bytes = await MailboxStore.open(await dir(), { maxBytes: 400 })
  assert.ok((await bytes.put(letter(1, 'x'.repeat(100)), 'a')).ok)
  assert.deepEqual(await bytes.put(letter(2, 'y'.repeat(300)), 'a'), { ok: false, code: 'MAILBOX_BYTES' })
  await bytes.close()

  const rate = await MailboxStore.open(await dir(), { storesPerMinute: 2 })
  const now = 1_000_000
  assert.ok((await rate.put(letter(1), 'spammer', now)).ok)
  assert.ok((await rate.put(letter(2), 'spammer', now)).ok)
  assert.deepEqual(await rate.put(letter(3), 'spammer', now), { ok: false, code: 'RATE_LIMITED' })
  assert.ok((await rate.put(letter(3), 'someone-else', now)).ok)
  assert.ok((await rate.put(letter(4), 'spammer', now + 61_000)).ok, 'the window moves on')
  assert.equal((await rate.list(mailboxId(bob.publicKey), now)).length, 4)
  await rate.close()
})

test('envelopes expire after the TTL', async () => {
  const store = await MailboxStore.open(await dir(), { ttlMs: 1000 })
  await store.put(letter(1), 'a', 0)
  await store.put(letter(2), 'a', 900)
  assert.equal((await store.list(mailboxId(bob.publicKey), 950)).length, 2)
  assert.equal((await store.list(mailboxId(bob.publicKey), 1000)).length, 1)
  assert.equal((await store.expire(2000)).expired, 2)
  assert.deepEqual(await store.mailboxes(), [])
  await store.close()
})

test('a deleted envelope leaves a tombstone: a late replica of it is refused, and holders compare ids page by page', async () => {
  const store = await MailboxStore.open(await dir())
  const box = mailboxId(bob.publicKey)
  const envs = [1, 2, 3, 4, 5].map((seq) => letter(seq))
  const attachment = { key: Buffer.alloc(32, 7), length: 3 }
  const ids = []
  for (const [i, e] of envs.entries()) ids.push(((await store.put(e, null, Date.now(), i === 0 ? attachment : null)) as { id: Buffer }).id)
  const { removed, released } = await store.delete(box, [ids[0]!])
  assert.equal(removed, 1)
  assert.deepEqual(released, [attachment], 'the attachment is no longer needed')
  assert.deepEqual(await store.put(envs[0]!, null), { ok: false, code: 'DELETED' })
  assert.equal((await store.list(box)).length, 4)
  assert.equal((await store.stats()).envelopes, 4)

  const seen: Buffer[] = []
  const gone: Buffer[] = []
  let after: Buffer | null = null
  for (;;) {
    const page = await store.page(box, after, 2)
    seen.push(...page.ids)
    gone.push(...page.deleted)
    const last: Buffer | undefined = [...page.ids, ...page.deleted].sort(Buffer.compare).at(-1)
    if (!page.more || !last) break
    after = last
  }
  assert.deepEqual(seen.map((b) => b.toString('hex')).sort(), ids.slice(1).map((b) => b.toString('hex')).sort())
  assert.deepEqual(gone, [ids[0]])
  assert.deepEqual((await store.get(box, [ids[0]!, ids[1]!])).map((e) => e.id), [ids[1]], 'a tombstone is not served')
  await store.close()
})
