import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Lab } from '../helpers/overlay.js'
import type { Peer } from '../../app/peer.js'
import type { PeerOptions } from '../../app/peer.js'
import { sealLetter } from '../../app/mailbox/envelope.js'
import { encodeNote } from '../../app/mailbox/letter-note.js'

/**
 * Offline messages end to end between real peers on a local testnet: six
 * super-nodes (relay mode always) hold mailboxes; Alice writes to Bob while his
 * peer is stopped; Bob starts and gets it from his mailbox.
 */
let lab: Lab
const superNodes: Peer[] = []
let bobDir: string
let bobKey: string
let alice: Peer

const MAILBOX = { replicas: 5, checkMs: 3_600_000, repairMs: 3_600_000, probeTimeoutMs: 400, blobTimeoutMs: 15_000 }
const options = (extra: Partial<PeerOptions> = {}): Partial<PeerOptions> => ({ mailbox: MAILBOX, ...extra })

async function until(ok: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${ok.toString()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Envelopes held for others across all super-nodes. */
async function held(): Promise<number> {
  let n = 0
  for (const sn of superNodes) n += (await sn.mailbox.status()).holder.envelopes
  return n
}

before(async () => {
  lab = await Lab.create(4)
  for (let i = 0; i < 6; i++) {
    superNodes.push(await lab.peer(`sip:holder${i}@mail.test`, options({ relay: { mode: 'always', sampleMs: 100, cpuLoad: () => ({ process: 0.01, system: 0 }) } })))
  }
  await until(async () => (await Promise.all(superNodes.map((s) => s.mailbox.status()))).every((s) => s.holder.active))
  alice = await lab.peer('sip:alice@mail.test', options())
  bobDir = await lab.tempDir()
  // Bob has been online once: Alice pinned his key then (a buddy she has talked to).
  const bob = await lab.peer('sip:bob@mail.test', options({ dataDir: bobDir }))
  bobKey = bob.identity.keyPair.publicKey.toString('hex')
  await alice.contacts.pin(bob.aor, bobKey)
  await bob.close()
})
after(() => lab.destroy())

test('a message to an offline buddy is stored at r holders, delivered once when he starts, then deleted from the holders', async () => {
  const sent = await alice.sendMessage('sip:bob@mail.test', 'are you there?')
  assert.equal(sent.delivery, 'stored', JSON.stringify(sent))
  assert.equal(sent.status, 404)
  assert.ok(sent.mailbox && sent.mailbox.acks >= 3, 'a majority acknowledged')
  assert.equal(alice.store.get(sent.id)?.status, 'stored')
  assert.equal(await held(), 5, 'five copies')

  const bob = await lab.peer('sip:bob@mail.test', options({ dataDir: bobDir }))
  await until(() => bob.inbox().some((m) => m.text === 'are you there?'))
  const got = bob.inbox().filter((m) => m.text === 'are you there?')
  assert.equal(got.length, 1, 'exactly once')
  assert.equal(got[0]!.mailed, true)
  assert.equal(got[0]!.from, 'sip:alice@mail.test')
  assert.equal(got[0]!.peerKey, alice.identity.keyPair.publicKey.toString('hex'))
  await until(async () => (await held()) === 0)
  await bob.mailbox.check()
  assert.equal(bob.inbox().filter((m) => m.text === 'are you there?').length, 1, 'a second fetch shows nothing new')
  await bob.close()
})

test('a replayed letter (same sender and sequence) is not shown twice; a tampered envelope is rejected', async () => {
  const bobPk = Buffer.from(bobKey, 'hex')
  const note = { aor: alice.aor, displayName: '', callId: 'replay-test', cseq: 1, text: 'only once', blob: null, mime: 'text/plain', durationMs: 0 }
  const letter = { seq: 9_001, sentAt: Date.now(), kind: 'text' as const, body: encodeNote(note) }
  assert.ok((await alice.mailbox.client.store(sealLetter(alice.identity.keyPair, bobPk, letter))).stored)
  const tampered = sealLetter(alice.identity.keyPair, bobPk, { ...letter, seq: 9_002, body: encodeNote({ ...note, callId: 'tampered', text: 'evil' }) })
  tampered.sealed[tampered.sealed.length - 1]! ^= 1
  assert.ok((await alice.mailbox.client.store(tampered)).stored, 'holders cannot tell: they store sealed bytes')

  const bob = await lab.peer('sip:bob@mail.test', options({ dataDir: bobDir }))
  await until(() => bob.inbox().some((m) => m.text === 'only once'))
  await until(async () => (await held()) === 0)
  assert.equal(bob.mailbox.rejected, 1, 'the tampered one was dropped')
  assert.ok(!bob.inbox().some((m) => m.text === 'evil'))

  // The same letter sealed again (new bytes, same sender and seq) is stored anew and fetched, but not shown again.
  assert.ok((await alice.mailbox.client.store(sealLetter(alice.identity.keyPair, bobPk, letter))).stored)
  await bob.mailbox.check()
  assert.equal(bob.inbox().filter((m) => m.text === 'only once').length, 1)
  assert.equal(await held(), 0, 'and the replay was deleted too')
  await bob.close()
})

test('a text too long for one envelope travels in a blob and arrives whole', async () => {
  const long = 'long message '.repeat(400)
  const sent = await alice.sendMessage('sip:bob@mail.test', long)
  assert.equal(sent.delivery, 'stored')
  const bob = await lab.peer('sip:bob@mail.test', options({ dataDir: bobDir }))
  await until(() => bob.inbox().some((m) => m.text === long), 30_000)
  assert.equal(bob.inbox().filter((m) => m.text === long).length, 1)
  await bob.close()
})

test('a voicemail for an offline buddy: the recording goes in a blob the holders keep; he gets it with the message-waiting count', async () => {
  const audio = randomBytes(90_000)
  const vm = await alice.mailbox.sendVoicemail('sip:bob@mail.test', audio, 'audio/webm;codecs=opus', 4_000)
  assert.equal(vm.state, 'stored')
  await until(async () => {
    let blobs = 0
    for (const sn of superNodes) blobs += (await sn.mailbox.status()).holder.blobs
    return blobs >= 3
  }, 30_000)
  await alice.close() // the sender is gone: the holders serve the recording

  const bob = await lab.peer('sip:bob@mail.test', options({ dataDir: bobDir }))
  await until(() => bob.mailbox.voicemails.list().length === 1, 30_000)
  const [got] = bob.mailbox.voicemails.list()
  assert.equal(got!.peer, 'sip:alice@mail.test')
  assert.equal(got!.durationMs, 4_000)
  assert.deepEqual((await bob.mailbox.voicemails.audio(got!.id)).audio, audio)
  assert.deepEqual((await bob.mailbox.status()).voicemail, { new: 1, old: 0 })
  await bob.mailbox.voicemails.update(got!.id, { heard: true })
  assert.deepEqual((await bob.mailbox.status()).voicemail, { new: 0, old: 1 })
  await until(async () => (await held()) === 0)
})
