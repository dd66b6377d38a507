import sodium from 'sodium-universal'
import type { Aor } from '../identity/aor.js'

const AOR_NAMESPACE = Buffer.from('parley/aor/v1')

/** The DHT key a user is announced at: BLAKE2b-256("parley/aor/v1" ‖ canonical AOR). */
export function aorTopic(aor: Aor): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, Buffer.concat([AOR_NAMESPACE, Buffer.from(aor, 'utf8')]))
  return out
}
