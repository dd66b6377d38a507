import { test } from 'node:test'
import assert from 'node:assert/strict'
import HyperDHT from 'hyperdht'
import sodium from 'sodium-universal'
import {
  decodeEnvelope,
  encodeEnvelope,
  envelopeId,
  EnvelopeError,
  mailboxId,
  MAX_SEALED_BYTES,
  openEnvelope,
  sealLetter,
  type Envelope
} from '../../app/mailbox/envelope.js'
import { mutate, rng } from '../helpers/mutate.js'

const alice = HyperDHT.keyPair()
const bob = HyperDHT.keyPair()
const mallory = HyperDHT.keyPair()
const letter = { seq: 7, sentAt: 1_790_000_000_000, kind: 'text' as const, body: Buffer.from('are you there? — héllo') }

function code(fn: () => unknown): string | null {
  try {
    fn()
    return null
  } catch (err) {
    assert.ok(err instanceof EnvelopeError, `not an EnvelopeError: ${(err as Error).stack}`)
    return err.code
  }
}

test('the recipient opens what the sender sealed: sender, sequence, time, kind and body', () => {
  const env = decodeEnvelope(encodeEnvelope(sealLetter(alice, bob.publicKey, letter)))
  const opened = openEnvelope(bob, env)
  assert.ok(opened.sender.equals(alice.publicKey))
  assert.equal(opened.seq, 7)
  assert.equal(opened.sentAt, letter.sentAt)
  assert.equal(opened.kind, 'text')
  assert.equal(opened.body.toString(), letter.body.toString())
})

test('storage nodes see only the mailbox id and the size: no sender key, sequence or text in the clear', () => {
  const env = sealLetter(alice, bob.publicKey, letter)
  const wire = encodeEnvelope(env)
  assert.ok(env.mailbox.equals(mailboxId(bob.publicKey)))
  assert.ok(!env.mailbox.equals(bob.publicKey), 'the mailbox id is a hash, not the key')
  assert.equal(wire.indexOf(alice.publicKey), -1)
  assert.equal(wire.indexOf(bob.publicKey), -1)
  assert.equal(wire.indexOf(Buffer.from('are you there')), -1)
  // Two letters with the same content seal differently (an ephemeral key per seal).
  assert.ok(!envelopeId(env).equals(envelopeId(sealLetter(alice, bob.publicKey, letter))))
})

test('another key cannot open it; a tampered envelope is rejected', () => {
  const env = sealLetter(alice, bob.publicKey, letter)
  assert.equal(code(() => openEnvelope(mallory, env)), 'NOT_FOR_US')
  // Mallory relabels it for her own mailbox: the seal still does not open for her.
  assert.equal(code(() => openEnvelope(mallory, { ...env, mailbox: mailboxId(mallory.publicKey) })), 'UNSEALABLE')
  for (const at of [0, 40, env.sealed.length - 1]) {
    const sealed = Buffer.from(env.sealed)
    sealed[at]! ^= 0x01
    assert.equal(code(() => openEnvelope(bob, { ...env, sealed })), 'UNSEALABLE', `byte ${at} flipped`)
  }
})

test('a forged sender is rejected: a letter signed by Mallory but claiming Alice', () => {
  // Mallory seals a letter to Bob naming Alice as sender, signed with her own key.
  const forged = sealLetter({ publicKey: alice.publicKey, secretKey: mallory.secretKey }, bob.publicKey, letter)
  assert.equal(code(() => openEnvelope(bob, forged)), 'BAD_SIGNATURE')
})

test('a letter re-sealed to someone else does not verify: the signature binds the recipient', () => {
  // Bob opens Alice's letter and seals her exact signed plaintext to Mallory.
  const toBob = sealLetter(alice, bob.publicKey, letter)
  const curve = (ed: Buffer) => {
    const out = Buffer.alloc(32)
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, ed)
    return out
  }
  const bobSk = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(bobSk, bob.secretKey)
  const plain = Buffer.alloc(toBob.sealed.length - sodium.crypto_box_SEALBYTES)
  assert.ok(sodium.crypto_box_seal_open(plain, toBob.sealed, curve(bob.publicKey), bobSk))
  const sealed = Buffer.alloc(toBob.sealed.length)
  sodium.crypto_box_seal(sealed, plain, curve(mallory.publicKey))
  assert.equal(code(() => openEnvelope(mallory, { version: toBob.version, mailbox: mailboxId(mallory.publicKey), sealed })), 'BAD_SIGNATURE')
})

test('large payloads are refused with TOO_LARGE (they go in a Hypercore), not truncated', () => {
  assert.equal(code(() => sealLetter(alice, bob.publicKey, { ...letter, body: Buffer.alloc(MAX_SEALED_BYTES) })), 'TOO_LARGE')
  assert.equal(code(() => sealLetter(alice, Buffer.alloc(32, 0xff), letter)), 'UNSEALABLE')
})

test('malformed wire bytes give MALFORMED or UNSEALABLE, never another exception', () => {
  const wire = encodeEnvelope(sealLetter(alice, bob.publicKey, letter))
  const random = rng(5)
  const seen = new Set<string>()
  for (let i = 0; i < 2_000; i++) {
    const bytes = mutate(wire, random)
    let env: Envelope
    try {
      env = decodeEnvelope(bytes)
    } catch (err) {
      assert.ok(err instanceof EnvelopeError && err.code === 'MALFORMED', String(err))
      seen.add('MALFORMED')
      continue
    }
    const c = code(() => openEnvelope(bob, env))
    seen.add(c ?? 'opened')
  }
  assert.ok(seen.has('MALFORMED'), [...seen].join())
  for (const bytes of [Buffer.alloc(0), Buffer.from([1]), Buffer.alloc(40, 0xff)]) assert.equal(code(() => decodeEnvelope(bytes)), 'MALFORMED')
})
