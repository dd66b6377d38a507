import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import c from 'compact-encoding'
import Corestore, { type CorestoreOfCores } from 'corestore'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import sodium from 'sodium-universal'
import { BlobError, BlobStore, blobPointerEncoding, MAX_BLOB_BYTES, MAX_BLOB_BLOCKS, type BlobPointer } from '../../app/mailbox/blob-store.js'
import { silentLogger } from '../../app/log.js'

type Testnet = Awaited<ReturnType<typeof createTestnet>>
let testnet: Testnet
const cleanups: Array<() => Promise<unknown>> = []

before(async () => {
  testnet = await createTestnet(10, { host: '127.0.0.1' })
})
after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {})
  await testnet.destroy()
})

/** A peer: its own DHT node on the testnet (never the public one) and a temp dir. */
async function peer(): Promise<{ dht: HyperDHT; dir: string }> {
  const dht = new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
  await dht.ready()
  const dir = await mkdtemp(join(tmpdir(), 'parley-blobs-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  cleanups.push(() => dht.destroy())
  return { dht, dir }
}

async function open(p: { dht: HyperDHT; dir: string }): Promise<BlobStore> {
  const store = await BlobStore.open({ dir: p.dir, dht: p.dht, log: silentLogger() })
  cleanups.push(() => store.close())
  return store
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof BlobError, `expected a BlobError, got ${String(err)}`)
    return err.code
  }
  assert.fail('expected a rejection')
}

/** The blocks a stopped holder left on disk, read straight from its Corestore. */
async function storedBlocks(dir: string, key: Buffer): Promise<Buffer[]> {
  const store = new Corestore(dir) as unknown as CorestoreOfCores
  const core = store.get({ key })
  await core.ready()
  const blocks: Buffer[] = []
  for (let i = 0; i < core.length; i++) {
    const block = await core.get(i, { wait: false })
    if (block) blocks.push(block)
  }
  await core.close()
  await store.close()
  return blocks
}

function discoveryKey(key: Buffer): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, Buffer.from('hypercore'), key)
  return out
}

test('a voicemail is fetched from a holder after its sender went offline', async () => {
  const sender = await open(await peer())
  const holder = await open(await peer())
  const recipient = await open(await peer())
  const voice = randomBytes(200 * 1024)

  const pointer = await sender.create(voice, 'audio/ogg; codecs=opus')
  assert.equal(pointer.key.length, 32)
  assert.equal(pointer.byteLength, voice.length)
  assert.ok(pointer.length > 1, 'a 200 KB blob spans several blocks')
  const wire = Buffer.from(c.encode(blobPointerEncoding, pointer))
  assert.ok(wire.length < 120, `the pointer fits a sealed letter (${wire.length} bytes)`)
  assert.deepEqual(c.decode(blobPointerEncoding, wire), pointer)
  assert.deepEqual(sender.held().map((h) => h.key), [pointer.key], 'the sender serves its own blob')

  await holder.hold(pointer.key, pointer.length, { timeoutMs: 15_000 })
  assert.deepEqual(holder.held().map((h) => [h.key, h.length]), [[pointer.key, pointer.length]])
  assert.ok(holder.held()[0]!.bytes > voice.length, 'the holder counts ciphertext bytes')

  await sender.close()
  const got = await recipient.fetch(pointer, { timeoutMs: 15_000 })
  assert.ok(got.equals(voice))
  assert.deepEqual(recipient.held(), [], 'a recipient does not keep serving what it fetched')
})

test('a holder stores only ciphertext, keeps it across a restart and serves it again', async () => {
  const sender = await open(await peer())
  const holderPeer = await peer()
  let holder = await open(holderPeer)
  const recipient = await open(await peer())
  const voice = randomBytes(150 * 1024)
  const pointer = await sender.create(voice, 'audio/ogg')
  await holder.hold(pointer.key, pointer.length, { timeoutMs: 15_000 })
  await holder.close()
  await sender.close()

  const blocks = await storedBlocks(holderPeer.dir, pointer.key)
  assert.equal(blocks.length, pointer.length, 'every block is on the holder disk')
  const stored = Buffer.concat(blocks)
  for (let off = 0; off + 64 <= voice.length; off += 997) {
    assert.equal(stored.indexOf(voice.subarray(off, off + 64)), -1, `plaintext at ${off} is not on the holder's disk`)
  }

  holder = await open(holderPeer)
  assert.deepEqual(holder.held().map((h) => h.key), [pointer.key], 'the index survives a restart')
  const got = await recipient.fetch(pointer, { timeoutMs: 15_000 })
  assert.ok(got.equals(voice), 'the restarted holder announces and serves again')
})

test('a wrong or altered secret, or a lying size, fails authentication with a code', async () => {
  const sender = await open(await peer())
  const recipient = await open(await peer())
  const pointer = await sender.create(randomBytes(70 * 1024), 'audio/ogg')

  assert.equal(await codeOf(recipient.fetch({ ...pointer, secret: randomBytes(32) }, { timeoutMs: 10_000 })), 'TAMPERED')
  const flipped = Buffer.from(pointer.secret)
  flipped[0]! ^= 1
  assert.equal(await codeOf(recipient.fetch({ ...pointer, secret: flipped }, { timeoutMs: 10_000 })), 'TAMPERED')
  assert.equal(await codeOf(recipient.fetch({ ...pointer, byteLength: pointer.byteLength - 1 }, { timeoutMs: 10_000 })), 'TAMPERED')
  assert.ok((await recipient.fetch(pointer, { timeoutMs: 10_000 })).length === pointer.byteLength, 'the true pointer still opens')
})

test('release stops serving and drops the blocks', async () => {
  const senderPeer = await peer()
  const sender = await open(senderPeer)
  const holderPeer = await peer()
  let holder = await open(holderPeer)
  const recipient = await open(await peer())
  const pointer = await sender.create(randomBytes(100 * 1024), 'audio/ogg')
  await holder.hold(pointer.key, pointer.length, { timeoutMs: 15_000 })
  await sender.release(pointer.key)
  await sender.close()

  await holder.release(pointer.key)
  assert.deepEqual(holder.held(), [])
  const started = Date.now()
  assert.equal(await codeOf(recipient.fetch(pointer, { timeoutMs: 3_000 })), 'NOT_FOUND')
  assert.ok(Date.now() - started < 6_000, 'the failure comes with the timeout, not later')

  const lookup = holderPeer.dht.lookup(discoveryKey(pointer.key))
  let announced = 0
  for await (const reply of lookup) announced += reply.peers?.length ?? 0
  assert.equal(announced, 0, 'nobody announces the released core any more')

  await holder.close()
  assert.deepEqual(await storedBlocks(holderPeer.dir, pointer.key), [], 'no block is left on disk')
  holder = await open(holderPeer)
  assert.deepEqual(holder.held(), [], 'a release survives a restart')
})

test('bad input is refused with codes, never a crash or an endless wait', async () => {
  const p = await peer()
  const store = await open(p)
  const key = randomBytes(32)
  assert.equal(await codeOf(store.hold(Buffer.alloc(31), 1)), 'BAD_KEY')
  assert.equal(await codeOf(store.hold(key, 0)), 'BAD_LENGTH')
  assert.equal(await codeOf(store.hold(key, 1.5)), 'BAD_LENGTH')
  assert.equal(await codeOf(store.hold(key, MAX_BLOB_BLOCKS + 1)), 'TOO_LARGE')
  assert.equal(await codeOf(store.create(Buffer.alloc(0), 'audio/ogg')), 'BAD_LENGTH')
  assert.equal(await codeOf(store.create(Buffer.alloc(MAX_BLOB_BYTES + 1), 'audio/ogg')), 'TOO_LARGE')
  assert.equal(await codeOf(store.create(Buffer.alloc(10), 'x'.repeat(300))), 'MALFORMED')

  const good: BlobPointer = { key, secret: randomBytes(32), length: 1, byteLength: 10, mime: 'audio/ogg' }
  assert.equal(await codeOf(store.fetch({ ...good, key: Buffer.alloc(8) })), 'BAD_KEY')
  assert.equal(await codeOf(store.fetch({ ...good, secret: Buffer.alloc(8) })), 'BAD_KEY')
  assert.equal(await codeOf(store.fetch({ ...good, length: 3 })), 'MALFORMED', 'length disagrees with byteLength')
  assert.equal(await codeOf(store.fetch({ ...good, byteLength: MAX_BLOB_BYTES + 1, length: MAX_BLOB_BLOCKS })), 'TOO_LARGE')
  assert.throws(() => c.decode(blobPointerEncoding, randomBytes(20)), (err) => err instanceof BlobError && err.code === 'MALFORMED')

  const started = Date.now()
  assert.equal(await codeOf(store.hold(key, 2, { timeoutMs: 1_500 })), 'NOT_FOUND')
  assert.equal(await codeOf(store.fetch(good, { timeoutMs: 1_500 })), 'NOT_FOUND')
  assert.ok(Date.now() - started < 6_000, 'unknown cores time out on time')
  assert.deepEqual(store.held(), [], 'a failed hold leaves nothing held')

  const small = await BlobStore.open({ dir: (await peer()).dir, dht: p.dht, log: silentLogger(), maxHeldBytes: 64 * 1024 })
  assert.equal(await codeOf(small.hold(key, 3)), 'STORE_FULL')
  const pending = small.hold(key, 1, { timeoutMs: 60_000 })
  const closedAt = Date.now()
  await small.close()
  assert.equal(await codeOf(pending), 'CLOSED')
  assert.ok(Date.now() - closedAt < 5_000, 'close ends a pending hold')

  await store.close()
  await store.close()
  assert.equal(await codeOf(store.fetch(good)), 'CLOSED')
})
