import sodium from 'sodium-universal'

const CONTEXT = Buffer.from('parley/fingerprint/v1')

/**
 * A fingerprint people can read to each other: eight groups of five digits
 * (about 133 bits) from BLAKE2b over a context string and the public key,
 * in the style of Signal's safety numbers.
 */
export function fingerprint(publicKey: Uint8Array): string {
  const digest = Buffer.alloc(40)
  sodium.crypto_generichash(digest, Buffer.concat([CONTEXT, publicKey]))
  const groups: string[] = []
  for (let i = 0; i < 8; i++) {
    const chunk = digest.readUIntBE(i * 5, 5) % 100000
    groups.push(String(chunk).padStart(5, '0'))
  }
  return groups.join(' ')
}
