import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../app/store/json-file.js'
import { ParleyError, errorCode } from '../app/errors.js'

/** Electron's `safeStorage`. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean
  encryptString(plainText: string): Buffer
  decryptString(encrypted: Buffer): string
  /** Linux only. */
  getSelectedStorageBackend(): 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown'
}

/** For the UI: whether secrets can be kept, and how well. */
export interface SecretStoreStatus {
  available: boolean
  /** Linux's key store backend as Electron chose it; null elsewhere. */
  backend: string | null
  /** Encrypted with a key anyone on the machine can find (Linux without a secret service). */
  weak: boolean
  warning: string | null
  /** The secrets file could not be read: its path and what is wrong. */
  corrupt: string | null
}

export interface SecretStore {
  status(): SecretStoreStatus
  get(name: string): Promise<string | null>
  set(name: string, value: string): Promise<void>
  delete(name: string): Promise<boolean>
  names(): Promise<string[]>
}

export interface SetupSecretsOptions {
  safeStorage: SafeStorageLike
  platform: NodeJS.Platform
  /** `app.getPath('userData')`. */
  dir: string
  onError?: (err: unknown) => void
}

export const SECRETS_FILE = 'secrets.json'

const SecretName = z.string().min(1).max(256)
const SecretsFile = z
  .object({
    version: z.literal(1),
    /** Each value: safeStorage's ciphertext, base64. */
    secrets: z.record(SecretName, z.object({ data: z.string().max(64 * 1024) }).strict())
  })
  .strict()
type SecretsFile = z.infer<typeof SecretsFile>

const WEAK_WARNING =
  'No secret service is running (GNOME Keyring, KWallet or another keyring): passwords are stored with a key any program of yours can read.'
const UNAVAILABLE_WARNING = 'This system offers no encrypted storage: passwords cannot be saved and must be typed at each start.'

/**
 * Account passwords (SIP gateways) kept encrypted with the OS key store
 * through `safeStorage` (Keychain, DPAPI, libsecret/KWallet), in one file in the
 * user-data folder. Writes are atomic and one at a time; a file that does not
 * parse is reported, never overwritten, and moved aside at the next save.
 */
export function setupSecrets(opts: SetupSecretsOptions): SecretStore {
  const path = join(opts.dir, SECRETS_FILE)
  const onError = opts.onError ?? (() => {})
  let corrupt: string | null = null
  let queue: Promise<unknown> = Promise.resolve()

  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work)
    queue = next.catch(() => {})
    return next
  }

  async function load(): Promise<SecretsFile> {
    try {
      const file = await readJsonFile(path, SecretsFile)
      corrupt = null
      return file ?? { version: 1, secrets: {} }
    } catch (err) {
      if (errorCode(err) !== 'DATA_CORRUPT') throw err
      corrupt = (err as Error).message
      onError(err)
      return { version: 1, secrets: {} }
    }
  }

  async function save(file: SecretsFile): Promise<void> {
    if (corrupt !== null) {
      // Kept for recovery by hand: it may hold passwords a later fix can read.
      await rename(path, `${path}.corrupt-${Date.now()}`)
      corrupt = null
    }
    await writeJsonFile(path, file)
  }

  function checkName(name: string): void {
    if (!SecretName.safeParse(name).success) throw ParleyError.BAD_REQUEST('secret name: 1 to 256 characters')
  }

  return {
    status() {
      const available = opts.safeStorage.isEncryptionAvailable()
      const backend = opts.platform === 'linux' ? opts.safeStorage.getSelectedStorageBackend() : null
      // 'unknown' is what Electron reports when it fell back without saying to what: assume the worst.
      const weak = available && (backend === 'basic_text' || backend === 'unknown')
      return { available, backend, weak, warning: !available ? UNAVAILABLE_WARNING : weak ? WEAK_WARNING : null, corrupt }
    },
    get: (name) =>
      serial(async () => {
        const entry = (await load()).secrets[name]
        if (!entry) return null
        try {
          return opts.safeStorage.decryptString(Buffer.from(entry.data, 'base64'))
        } catch (err) {
          // Another user's or machine's key store, or a reset keyring: the ciphertext is useless here.
          throw new ParleyError('SECRET_UNREADABLE', `secret ${JSON.stringify(name)} cannot be decrypted: ${(err as Error).message}`)
        }
      }),
    set: async (name, value) => {
      checkName(name)
      if (!opts.safeStorage.isEncryptionAvailable()) throw new ParleyError('SECRETS_UNAVAILABLE', UNAVAILABLE_WARNING)
      const data = opts.safeStorage.encryptString(value).toString('base64')
      return serial(async () => {
        const file = await load()
        file.secrets[name] = { data }
        await save(file)
      })
    },
    delete: (name) =>
      serial(async () => {
        const file = await load()
        if (!file.secrets[name]) return false
        delete file.secrets[name]
        await save(file)
        return true
      }),
    names: () => serial(async () => Object.keys((await load()).secrets).sort())
  }
}
