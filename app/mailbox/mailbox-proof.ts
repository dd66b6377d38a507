import sodium from 'sodium-universal'
import type { KeyPair } from 'hyperdht'

/**
 * How a recipient proves to a holder that a mailbox is theirs: an ed25519
 * signature by the key the mailbox id is the hash of, over the holder's round-trip
 * token for the recipient's address (so a captured proof is useless elsewhere and
 * goes stale within minutes), the mailbox and what is asked.
 */
const FETCH = Buffer.from('parley/mailbox/fetch/v1')
const DELETE = Buffer.from('parley/mailbox/delete/v1')
const NO_CURSOR = Buffer.alloc(32)

function fetchBytes(token: Buffer, mailbox: Buffer, after: Buffer | null): Buffer {
  return Buffer.concat([FETCH, token, mailbox, after ?? NO_CURSOR])
}

function deleteBytes(token: Buffer, mailbox: Buffer, ids: Buffer[]): Buffer {
  return Buffer.concat([DELETE, token, mailbox, ...ids])
}

function sign(message: Buffer, keyPair: KeyPair): Buffer {
  const signature = Buffer.alloc(64)
  sodium.crypto_sign_detached(signature, message, keyPair.secretKey)
  return signature
}

function verify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  } catch {
    return false
  }
}

export function signFetch(keyPair: KeyPair, token: Buffer, mailbox: Buffer, after: Buffer | null): Buffer {
  return sign(fetchBytes(token, mailbox, after), keyPair)
}

export function verifyFetch(signature: Buffer, publicKey: Buffer, token: Buffer, mailbox: Buffer, after: Buffer | null): boolean {
  return verify(signature, fetchBytes(token, mailbox, after), publicKey)
}

export function signDelete(keyPair: KeyPair, token: Buffer, mailbox: Buffer, ids: Buffer[]): Buffer {
  return sign(deleteBytes(token, mailbox, ids), keyPair)
}

export function verifyDelete(signature: Buffer, publicKey: Buffer, token: Buffer, mailbox: Buffer, ids: Buffer[]): boolean {
  return verify(signature, deleteBytes(token, mailbox, ids), publicKey)
}
