import { join } from 'node:path'
import { z } from 'zod'
import { ParleyError } from '../errors.js'
import { readJsonFile, writeJsonFile } from '../store/json-file.js'
import { canonicalAor, type Aor } from './aor.js'
import { fingerprint } from './fingerprint.js'

export interface Contact {
  aor: Aor
  publicKey: string
  fingerprint: string
  pinnedAt: string
}

/** How a looked-up key relates to what we pinned for that AOR. */
export type PinResult =
  | { status: 'pinned'; publicKey: Buffer; others: string[] }
  | { status: 'first-contact'; publicKey: Buffer; others: string[] }

const ContactsFile = z.object({
  version: z.literal(1),
  contacts: z.array(
    z.object({
      aor: z.string(),
      publicKey: z.string().regex(/^[0-9a-f]{64}$/),
      fingerprint: z.string(),
      pinnedAt: z.string()
    })
  )
})

/**
 * Buddies' keys, pinned on first contact (trust on first use). A lookup that
 * returns only keys other than the pinned one is an identity change: it is
 * reported (IDENTITY_CHANGED) and never used until the user accepts it.
 */
export class ContactBook {
  readonly path: string
  private contacts = new Map<Aor, Contact>()
  private writing: Promise<void> = Promise.resolve()

  private constructor(path: string) {
    this.path = path
  }

  static async open(dataDir: string): Promise<ContactBook> {
    const book = new ContactBook(join(dataDir, 'contacts.json'))
    const file = await readJsonFile(book.path, ContactsFile)
    for (const c of file?.contacts ?? []) book.contacts.set(canonicalAor(c.aor), { ...c, aor: canonicalAor(c.aor) })
    return book
  }

  get(aor: Aor): Contact | undefined {
    return this.contacts.get(aor)
  }

  list(): Contact[] {
    return [...this.contacts.values()]
  }

  /** Decide which of the keys announcing `aor` to use, pinning on first contact. */
  async resolve(aor: Aor, found: Buffer[]): Promise<PinResult> {
    const keys = [...new Set(found.map((k) => k.toString('hex')))]
    const pinned = this.contacts.get(aor)
    if (pinned) {
      if (!keys.includes(pinned.publicKey)) throw ParleyError.IDENTITY_CHANGED(aor, pinned.publicKey, keys)
      return { status: 'pinned', publicKey: Buffer.from(pinned.publicKey, 'hex'), others: keys.filter((k) => k !== pinned.publicKey) }
    }
    if (keys.length > 1) throw ParleyError.IDENTITY_AMBIGUOUS(aor, keys)
    const [only] = keys
    if (only === undefined) throw new Error('resolve() needs at least one key')
    await this.pin(aor, only)
    return { status: 'first-contact', publicKey: Buffer.from(only, 'hex'), others: [] }
  }

  /** Pin (or re-pin, after the user compared fingerprints) a buddy's key. */
  async pin(aor: Aor, publicKeyHex: string): Promise<Contact> {
    if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) throw ParleyError.BAD_REQUEST('public key must be 32 bytes of lowercase hex')
    const contact: Contact = {
      aor,
      publicKey: publicKeyHex,
      fingerprint: fingerprint(Buffer.from(publicKeyHex, 'hex')),
      pinnedAt: new Date().toISOString()
    }
    this.contacts.set(aor, contact)
    await this.save()
    return contact
  }

  async remove(aor: Aor): Promise<boolean> {
    const had = this.contacts.delete(aor)
    if (had) await this.save()
    return had
  }

  private save(): Promise<void> {
    const snapshot = { version: 1 as const, contacts: this.list() }
    const next = this.writing.catch(() => {}).then(() => writeJsonFile(this.path, snapshot))
    this.writing = next
    return next
  }
}
