import c from 'compact-encoding'
import sodium from 'sodium-universal'
import type { KeyPair } from 'hyperdht'

/**
 * A message for an offline user, as storage nodes hold it (docs/mailbox.md):
 *
 *   Envelope (what a super-node sees)     Letter (sealed inside, only the recipient sees)
 *   ─────────────────────────────────     ───────────────────────────────────────────────
 *   version  uint                         sender   ed25519 public key (32)
 *   mailbox  H("parley/mailbox/v1" ‖ pk)  seq      per (sender, recipient), from 1
 *   sealed   crypto_box_seal(letter)      sentAt   ms since the epoch
 *                                         kind     text | voicemail
 *                                         body     bytes
 *                                         sig      ed25519 over the domain, the
 *                                                  recipient's key and all of the above
 *
 * The seal (X25519 of the recipient's ed25519 key, an ephemeral sender key, XSalsa20-
 * Poly1305) hides who wrote, when and what; the signature proves the sender and binds
 * the letter to this recipient, so it cannot be re-sent to someone else as theirs.
 * An envelope's id is the hash of its sealed bytes: holders delete by id.
 */
export const ENVELOPE_VERSION = 1
const MAILBOX_NAMESPACE = Buffer.from('parley/mailbox/v1')
const SIGNING_DOMAIN = Buffer.from('parley/letter/v1')
/** Sealed letters above this size go in a Hypercore; the envelope carries the pointer. */
export const MAX_SEALED_BYTES = 768

export type LetterKind = 'text' | 'voicemail'
const KINDS: LetterKind[] = ['text', 'voicemail']

export interface Letter {
  sender: Buffer
  seq: number
  sentAt: number
  kind: LetterKind
  body: Buffer
}

export interface Envelope {
  version: number
  mailbox: Buffer
  sealed: Buffer
}

export class EnvelopeError extends Error {
  constructor(
    readonly code: 'MALFORMED' | 'NOT_FOR_US' | 'UNSEALABLE' | 'BAD_SIGNATURE' | 'TOO_LARGE',
    message: string
  ) {
    super(message)
  }
}

const envelopeEncoding = {
  preencode(state: c.State, e: Envelope) {
    c.uint.preencode(state, e.version)
    c.fixed32.preencode(state, e.mailbox)
    c.buffer.preencode(state, e.sealed)
  },
  encode(state: c.State, e: Envelope) {
    c.uint.encode(state, e.version)
    c.fixed32.encode(state, e.mailbox)
    c.buffer.encode(state, e.sealed)
  },
  decode(state: c.State): Envelope {
    return { version: c.uint.decode(state), mailbox: asBuffer(c.fixed32.decode(state)), sealed: asBuffer(c.buffer.decode(state)) }
  }
}

const letterFields = {
  preencode(state: c.State, l: Letter) {
    c.fixed32.preencode(state, l.sender)
    c.uint.preencode(state, l.seq)
    c.uint.preencode(state, l.sentAt)
    c.uint.preencode(state, KINDS.indexOf(l.kind))
    c.buffer.preencode(state, l.body)
  },
  encode(state: c.State, l: Letter) {
    c.fixed32.encode(state, l.sender)
    c.uint.encode(state, l.seq)
    c.uint.encode(state, l.sentAt)
    c.uint.encode(state, KINDS.indexOf(l.kind))
    c.buffer.encode(state, l.body)
  },
  decode(state: c.State): Letter {
    const sender = asBuffer(c.fixed32.decode(state))
    const seq = c.uint.decode(state)
    const sentAt = c.uint.decode(state)
    const kind = KINDS[c.uint.decode(state)]
    if (!kind) throw new EnvelopeError('MALFORMED', 'unknown letter kind')
    return { sender, seq, sentAt, kind, body: asBuffer(c.buffer.decode(state)) }
  }
}

/** The mailbox id storage nodes know a user by: BLAKE2b-256("parley/mailbox/v1" ‖ public key). */
export function mailboxId(publicKey: Buffer): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, Buffer.concat([MAILBOX_NAMESPACE, publicKey]))
  return out
}

/** An envelope's id: BLAKE2b-256 of its sealed bytes. */
export function envelopeId(e: Envelope): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, e.sealed)
  return out
}

/** X25519 public key of an ed25519 one (libsodium throws on a key that is not a curve point). */
function toCurve(ed25519: Buffer): Buffer {
  const curve = Buffer.alloc(32)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(curve, ed25519)
  } catch {
    throw new EnvelopeError('UNSEALABLE', 'not a valid ed25519 public key')
  }
  return curve
}

function signedBytes(recipient: Buffer, letter: Letter): Buffer {
  return Buffer.concat([SIGNING_DOMAIN, recipient, asBuffer(c.encode(letterFields, letter))])
}

/** Sign `letter` as `sender` and seal it to `recipient` (an ed25519 public key). */
export function sealLetter(sender: KeyPair, recipient: Buffer, letter: Omit<Letter, 'sender'>): Envelope {
  const full: Letter = { ...letter, sender: sender.publicKey }
  const signature = Buffer.alloc(64)
  sodium.crypto_sign_detached(signature, signedBytes(recipient, full), sender.secretKey)
  const plain = Buffer.concat([asBuffer(c.encode(letterFields, full)), signature])
  const curve = toCurve(recipient)
  const sealed = Buffer.alloc(plain.length + sodium.crypto_box_SEALBYTES)
  sodium.crypto_box_seal(sealed, plain, curve)
  if (sealed.length > MAX_SEALED_BYTES) throw new EnvelopeError('TOO_LARGE', `sealed letter is ${sealed.length} bytes (at most ${MAX_SEALED_BYTES}); large payloads go in a Hypercore`)
  return { version: ENVELOPE_VERSION, mailbox: mailboxId(recipient), sealed }
}

/** Open an envelope addressed to `recipient`; throws EnvelopeError if it is not for us, tampered or forged. */
export function openEnvelope(recipient: KeyPair, envelope: Envelope): Letter {
  if (envelope.version !== ENVELOPE_VERSION) throw new EnvelopeError('MALFORMED', `envelope version ${envelope.version}`)
  if (!envelope.mailbox.equals(mailboxId(recipient.publicKey))) throw new EnvelopeError('NOT_FOR_US', 'envelope is for another mailbox')
  if (envelope.sealed.length < sodium.crypto_box_SEALBYTES + 64 + 32) throw new EnvelopeError('MALFORMED', 'sealed letter too short')
  const pk = toCurve(recipient.publicKey)
  const sk = Buffer.alloc(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(sk, recipient.secretKey)
  const plain = Buffer.alloc(envelope.sealed.length - sodium.crypto_box_SEALBYTES)
  if (!sodium.crypto_box_seal_open(plain, envelope.sealed, pk, sk)) throw new EnvelopeError('UNSEALABLE', 'seal does not open (tampered, or not for this key)')
  const signature = plain.subarray(plain.length - 64)
  let letter: Letter
  try {
    letter = c.decode(letterFields, plain.subarray(0, plain.length - 64))
  } catch (err) {
    throw err instanceof EnvelopeError ? err : new EnvelopeError('MALFORMED', `letter does not decode: ${(err as Error).message}`)
  }
  if (!sodium.crypto_sign_verify_detached(signature, signedBytes(recipient.publicKey, letter), letter.sender)) {
    throw new EnvelopeError('BAD_SIGNATURE', 'the sender signature does not verify')
  }
  return letter
}

export function encodeEnvelope(e: Envelope): Buffer {
  return asBuffer(c.encode(envelopeEncoding, e))
}

function asBuffer(bytes: Uint8Array | null): Buffer {
  if (!bytes) return Buffer.alloc(0)
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Decode wire bytes; any malformed input is an EnvelopeError, never another exception. */
export function decodeEnvelope(bytes: Buffer): Envelope {
  try {
    return c.decode(envelopeEncoding, bytes)
  } catch (err) {
    throw new EnvelopeError('MALFORMED', `envelope does not decode: ${(err as Error).message}`)
  }
}
