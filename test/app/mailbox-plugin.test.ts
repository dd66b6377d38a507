import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import { silentLogger } from '../../app/log.js'
import { mailboxId, openEnvelope, sealLetter } from '../../app/mailbox/envelope.js'
import { MailboxHolder } from '../../app/mailbox/mailbox-holder.js'
import { MailboxClient } from '../../app/mailbox/mailbox-client.js'
import { findHolders } from '../../app/mailbox/holder-set.js'
import { pluginRequest } from '../../app/mailbox/dht-plugin.js'
import { signDelete, signFetch } from '../../app/mailbox/mailbox-proof.js'
import { Command, decode, deleteReply, deleteRequest, encode, envelopesReply, fetchRequest, statusReply, storeRequest } from '../../app/mailbox/mailbox-wire.js'

/**
 * The mailbox plugin on a real HyperDHT testnet: 14 persistent nodes, 10 of them
 * super-nodes serving the plugin (holders) and 4 plain DHT nodes that do not, a
 * sender and a recipient as ephemeral clients.
 */
type Testnet = Awaited<ReturnType<typeof createTestnet>>
let testnet: Testnet
const holders: MailboxHolder[] = []
const dirs: string[] = []
let client: HyperDHT
let mail: MailboxClient
const alice = HyperDHT.keyPair()
const bob = HyperDHT.keyPair()
const mallory = HyperDHT.keyPair()

before(async () => {
  testnet = await createTestnet(14, { host: '127.0.0.1' })
  for (const node of testnet.nodes.slice(4)) {
    const dir = await mkdtemp(join(tmpdir(), 'parley-holder-'))
    dirs.push(dir)
    const holder = await MailboxHolder.open(dir, { dht: node, log: silentLogger() }, { replicas: 5, repairMs: 3_600_000, probeTimeoutMs: 500 })
    holder.start()
    holders.push(holder)
  }
  client = new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1', ephemeral: true })
  await client.fullyBootstrapped()
  mail = new MailboxClient(() => client, { replicas: 5, probeTimeoutMs: 500 })
})

after(async () => {
  await client.destroy()
  for (const h of holders) await h.close()
  await testnet.destroy()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

let seq = 0
const letterTo = (to: Buffer, text = `hello ${++seq}`) => sealLetter(alice, to, { seq, sentAt: Date.now(), kind: 'text', body: Buffer.from(text) })

async function copies(mailbox: Buffer, live = holders): Promise<number> {
  let n = 0
  for (const h of live) n += (await h.store.list(mailbox)).length
  return n
}

/** The holders (by DHT port) the DHT currently says are the r closest responsive to a mailbox. */
async function closest(mailbox: Buffer, r = 5): Promise<number[]> {
  return (await findHolders(client, mailbox, { want: r, probeTimeoutMs: 500 })).holders.map((h) => h.node.port)
}

function holderAt(port: number): MailboxHolder {
  const i = testnet.nodes.slice(4).findIndex((n) => n.address()?.port === port)
  return holders[i]!
}

test('a store reaches the 5 closest holders, majority-acknowledged; the recipient fetches it once and deletes it everywhere', async () => {
  const box = mailboxId(bob.publicKey)
  const env = letterTo(bob.publicKey)
  const outcome = await mail.store(env)
  assert.equal(outcome.stored, true, JSON.stringify(outcome))
  assert.equal(outcome.acks, 5)
  const ports = await closest(box)
  assert.equal(ports.length, 5)
  for (const port of ports) assert.equal((await holderAt(port).store.list(box)).length, 1, `holder ${port} has it`)
  assert.equal(await copies(box), 5, 'and nobody else does')

  const fetched = await mail.fetch(bob)
  assert.equal(fetched.envelopes.length, 1, 'one envelope, not one per holder')
  assert.equal(fetched.envelopes[0]!.from.length, 5)
  assert.equal(openEnvelope(bob, fetched.envelopes[0]!.envelope).seq, seq)

  const del = await mail.delete(bob, [fetched.envelopes[0]!.id], fetched.holders)
  assert.equal(del.removed, 5)
  assert.equal(await copies(box), 0)
  assert.equal((await mail.fetch(bob)).envelopes.length, 0)
})

test('a node that is not the recipient can neither fetch nor delete; a forged proof is refused', async () => {
  const box = mailboxId(bob.publicKey)
  assert.ok((await mail.store(letterTo(bob.publicKey))).stored)
  const set = await findHolders(client, box, { want: 5, probeTimeoutMs: 500 })
  const h = set.holders[0]!

  // Mallory asks for Bob's mailbox with her own key: the key does not hash to the mailbox.
  const own = encode(fetchRequest, { publicKey: mallory.publicKey, after: null, signature: signFetch(mallory, h.token, box, null) })
  const r1 = await pluginRequest(client, h.node, { token: h.token, target: box, command: Command.FETCH, value: own }, 2000)
  assert.equal(decode(envelopesReply, r1?.value)?.status, 'BAD_PROOF')
  // With Bob's public key but her signature.
  const forged = encode(fetchRequest, { publicKey: bob.publicKey, after: null, signature: signFetch(mallory, h.token, box, null) })
  const r2 = await pluginRequest(client, h.node, { token: h.token, target: box, command: Command.FETCH, value: forged }, 2000)
  assert.equal(decode(envelopesReply, r2?.value)?.status, 'BAD_PROOF')
  assert.deepEqual(decode(envelopesReply, r2?.value)?.envelopes, [])
  // A proof Bob made for another token (replayed from elsewhere) is refused too.
  const replayed = encode(fetchRequest, { publicKey: bob.publicKey, after: null, signature: signFetch(bob, Buffer.alloc(32, 1), box, null) })
  const r3 = await pluginRequest(client, h.node, { token: h.token, target: box, command: Command.FETCH, value: replayed }, 2000)
  assert.equal(decode(envelopesReply, r3?.value)?.status, 'BAD_PROOF')
  // Without a token at all.
  const r4 = await pluginRequest(client, h.node, { token: null, target: box, command: Command.FETCH, value: forged }, 2000)
  assert.equal(decode(envelopesReply, r4?.value)?.status, 'NO_TOKEN')

  const ids = (await holderAt(h.node.port).store.list(box)).map((e) => e.id)
  const del = encode(deleteRequest, { publicKey: bob.publicKey, ids, signature: signDelete(mallory, h.token, box, ids) })
  const r5 = await pluginRequest(client, h.node, { token: h.token, target: box, command: Command.DELETE, value: del }, 2000)
  assert.equal(decode(deleteReply, r5?.value)?.status, 'BAD_PROOF')
  assert.equal(await copies(box), 5, 'nothing was deleted')

  const fetched = await mail.fetch(bob)
  await mail.delete(bob, fetched.envelopes.map((e) => e.id), fetched.holders)
  assert.equal(await copies(box), 0)
})

test('hostile STOREs get a code and store nothing: garbage, an envelope for another mailbox, no token, an oversize attachment', async () => {
  const box = mailboxId(bob.publicKey)
  const set = await findHolders(client, box, { want: 1, probeTimeoutMs: 500 })
  const h = set.holders[0]!
  const send = async (value: Buffer, token: Buffer | null = h.token) =>
    decode(statusReply, (await pluginRequest(client, h.node, { token, target: box, command: Command.STORE, value }, 2000))?.value)?.status
  assert.equal(await send(Buffer.from('not a store request')), 'BAD_REQUEST')
  assert.equal(await send(encode(storeRequest, { envelope: Buffer.from([1, 2, 3]), replica: false, attachment: null })), 'BAD_REQUEST')
  const forCarol = letterTo(HyperDHT.keyPair().publicKey)
  const { encodeEnvelope } = await import('../../app/mailbox/envelope.js')
  assert.equal(await send(encode(storeRequest, { envelope: encodeEnvelope(forCarol), replica: false, attachment: null })), 'BAD_REQUEST')
  const good = encodeEnvelope(letterTo(bob.publicKey))
  assert.equal(await send(encode(storeRequest, { envelope: good, replica: false, attachment: null }), null), 'NO_TOKEN')
  assert.equal(await send(encode(storeRequest, { envelope: good, replica: false, attachment: { key: Buffer.alloc(32), length: 1_000_000 } })), 'TOO_LARGE')
  // A replica flag from an ephemeral client is not trusted (it stays rate-limited), but the store itself is fine.
  assert.equal(await send(encode(storeRequest, { envelope: good, replica: true, attachment: null })), 'OK')
  assert.equal(await copies(box), 1)
  const held = holderAt(h.node.port)
  await held.store.drop(box, (await held.store.list(box)).map((e) => e.id))
})

test('over quota the sender gets the refusal code, and what was stored before stays', async () => {
  const carol = HyperDHT.keyPair()
  const box = mailboxId(carol.publicKey)
  for (const h of holders) Object.assign(h.store.limits, { maxEnvelopes: 2 })
  try {
    assert.ok((await mail.store(letterTo(carol.publicKey))).stored)
    assert.ok((await mail.store(letterTo(carol.publicKey))).stored)
    const third = await mail.store(letterTo(carol.publicKey))
    assert.equal(third.stored, false)
    assert.equal(third.code, 'MAILBOX_FULL')
    assert.equal((await mail.fetch(carol)).envelopes.length, 2)
    assert.equal(await copies(box), 10)
  } finally {
    for (const h of holders) Object.assign(h.store.limits, { maxEnvelopes: 500 })
  }
})

test('three of five holders gone: the recipient still gets it, and a repair round restores five copies', async () => {
  const dave = HyperDHT.keyPair()
  const box = mailboxId(dave.publicKey)
  assert.ok((await mail.store(letterTo(dave.publicKey, 'survives'))).stored)
  const before = await closest(box)
  const killed = before.slice(0, 3)
  for (const port of killed) {
    const h = holderAt(port)
    h.stop()
    // The node vanishes without a word (no hand-off): as SIGKILL looks from outside.
    await testnet.nodes.find((n) => n.address()?.port === port)!.destroy({ force: true })
  }
  const alive = holders.filter((h) => h.isActive)
  assert.equal(await copies(box, alive), 2)

  const survivors = before.slice(3).map(holderAt)
  for (const h of survivors) await h.repair()
  const now = await closest(box)
  assert.equal(now.length, 5)
  assert.ok(now.every((p) => !killed.includes(p)))
  for (const port of now) assert.equal((await holderAt(port).store.list(box)).length, 1, `holder ${port} has a copy after repair`)

  const fetched = await mail.fetch(dave)
  assert.equal(fetched.envelopes.length, 1)
  assert.equal(openEnvelope(dave, fetched.envelopes[0]!.envelope).body.toString(), 'survives')
})

test('a holder leaving gracefully hands its mailboxes to the next closest', async () => {
  const erin = HyperDHT.keyPair()
  const box = mailboxId(erin.publicKey)
  assert.ok((await mail.store(letterTo(erin.publicKey))).stored)
  const ports = await closest(box)
  const leaving = holderAt(ports[0]!)
  const handed = await leaving.handOff()
  assert.equal(handed.mailboxes >= 1, true)
  assert.ok(handed.pushed >= 1, 'the sixth closest got a copy')
  const now = await closest(box)
  assert.ok(!now.includes(ports[0]!), 'the leaver no longer answers as a holder')
  for (const port of now) assert.equal((await holderAt(port).store.list(box)).length, 1, `holder ${port} has it`)
})

test('random bytes in every command get a status reply, and the holder keeps working', async () => {
  const box = mailboxId(bob.publicKey)
  const set = await findHolders(client, box, { want: 1, probeTimeoutMs: 500 })
  const h = set.holders[0]!
  const { randomBytes } = await import('node:crypto')
  for (let i = 0; i < 60; i++) {
    const command = i % 8 // includes unknown commands 6 and 7
    const reply = await pluginRequest(client, h.node, { token: h.token, target: box, command, value: randomBytes(i * 7) }, 2000)
    assert.ok(reply?.value && reply.value.length > 0, `command ${command} answered`)
    // PROBE has no body to be wrong; everything else must refuse garbage.
    if (command !== Command.PROBE) assert.notEqual(decode(statusReply, reply.value.subarray(0, 1))?.status, 'OK', `garbage for command ${command} is not accepted`)
  }
  assert.ok((await mail.store(letterTo(bob.publicKey))).stored, 'still stores')
  const fetched = await mail.fetch(bob)
  await mail.delete(bob, fetched.envelopes.map((e) => e.id), fetched.holders)
})
