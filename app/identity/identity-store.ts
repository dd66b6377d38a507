import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import { z } from 'zod'
import sodium from 'sodium-universal'
import { ParleyError } from '../errors.js'
import { readJsonFile, writeJsonFile, ensurePrivateDir } from '../store/json-file.js'
import { canonicalAor, type Aor } from './aor.js'
import { fingerprint } from './fingerprint.js'

export interface KeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

export interface Identity {
  keyPair: KeyPair
  aor: Aor | null
  displayName: string | null
  fingerprint: string
}

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes of hex`)

const IdentityFile = z.object({
  version: z.literal(1),
  publicKey: hex(32),
  secretKey: hex(64),
  aor: z.string().nullable(),
  displayName: z.string().max(200).nullable(),
  createdAt: z.string()
})

export const IDENTITY_FILE = 'identity.json'

/**
 * The user's ed25519 key pair and profile, kept in `identity.json` under the data
 * directory with owner-only permissions. Created on first run; a corrupt file is
 * reported and never overwritten (a new key would silently become a new person).
 */
export async function loadOrCreateIdentity(
  dataDir: string,
  profile: { aor?: string; displayName?: string } = {}
): Promise<Identity> {
  await ensurePrivateDir(dataDir)
  const path = join(dataDir, IDENTITY_FILE)
  const aor = profile.aor === undefined ? undefined : canonicalAor(profile.aor)
  const stored = await readJsonFile(path, IdentityFile).catch((err: unknown) => {
    if (err instanceof ParleyError && err.code === 'DATA_CORRUPT') throw ParleyError.IDENTITY_CORRUPT(path, err.message)
    throw err
  })

  let record = stored
  if (record) {
    const keyPair = toKeyPair(record)
    const derived = Buffer.alloc(32)
    sodium.crypto_sign_ed25519_sk_to_pk(derived, keyPair.secretKey)
    if (!derived.equals(keyPair.publicKey)) throw ParleyError.IDENTITY_CORRUPT(path, 'public key does not match secret key')
    if ((await stat(path)).mode & 0o077) throw ParleyError.IDENTITY_CORRUPT(path, 'readable by others; fix with chmod 600')
    if (record.aor !== null) canonicalAor(record.aor)
  } else {
    const publicKey = Buffer.alloc(32)
    const secretKey = Buffer.alloc(64)
    sodium.crypto_sign_keypair(publicKey, secretKey)
    record = {
      version: 1,
      publicKey: publicKey.toString('hex'),
      secretKey: secretKey.toString('hex'),
      aor: null,
      displayName: null,
      createdAt: new Date().toISOString()
    }
  }

  const updated = {
    ...record,
    aor: aor ?? record.aor,
    displayName: profile.displayName ?? record.displayName
  }
  if (!stored || updated.aor !== stored.aor || updated.displayName !== stored.displayName) {
    await writeJsonFile(path, updated)
  }
  const keyPair = toKeyPair(updated)
  return {
    keyPair,
    aor: updated.aor === null ? null : canonicalAor(updated.aor),
    displayName: updated.displayName,
    fingerprint: fingerprint(keyPair.publicKey)
  }
}

function toKeyPair(record: { publicKey: string; secretKey: string }): KeyPair {
  return { publicKey: Buffer.from(record.publicKey, 'hex'), secretKey: Buffer.from(record.secretKey, 'hex') }
}
