import sodium from 'sodium-universal'

const RELAY_NAMESPACE = Buffer.from('parley/relay/v1')

/** Where super-nodes announce their relay offer: BLAKE2b-256("parley/relay/v1"). */
export function relayTopic(): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, RELAY_NAMESPACE)
  return out
}
