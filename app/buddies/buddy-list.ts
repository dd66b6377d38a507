import { join } from 'node:path'
import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../store/json-file.js'
import { canonicalAor, type Aor } from '../identity/aor.js'
import { ParleyError } from '../errors.js'

export interface BuddyEntry {
  aor: Aor
  displayName: string | null
  addedAt: string
  /** Incoming messages up to this time count as read. */
  lastReadAt: string | null
}

const BuddiesFile = z.object({
  version: z.literal(1),
  buddies: z.array(
    z.object({ aor: z.string(), displayName: z.string().nullable(), addedAt: z.string(), lastReadAt: z.string().nullable() })
  )
})

/** A generous bound: each buddy costs a presence subscription. */
export const MAX_BUDDIES = 1000

/**
 * The user's buddy list in `buddies.json` (owner-only, written atomically).
 * Keys are pinned in the contact book, presence lives in the watcher; this
 * file holds only what the user chose.
 */
export class BuddyList {
  private readonly buddies = new Map<Aor, BuddyEntry>()
  private writing: Promise<void> = Promise.resolve()

  private constructor(readonly path: string) {}

  static async open(dataDir: string): Promise<BuddyList> {
    const list = new BuddyList(join(dataDir, 'buddies.json'))
    const file = await readJsonFile(list.path, BuddiesFile)
    for (const b of file?.buddies ?? []) {
      const aor = canonicalAor(b.aor)
      list.buddies.set(aor, { ...b, aor })
    }
    return list
  }

  list(): BuddyEntry[] {
    return [...this.buddies.values()]
  }

  get(aor: Aor): BuddyEntry | undefined {
    return this.buddies.get(aor)
  }

  async add(aor: Aor, displayName: string | null): Promise<BuddyEntry> {
    const existing = this.buddies.get(aor)
    if (existing) {
      if (displayName !== null && displayName !== existing.displayName) {
        existing.displayName = displayName
        await this.save()
      }
      return existing
    }
    if (this.buddies.size >= MAX_BUDDIES) throw new ParleyError('LIMIT', `the buddy list holds at most ${MAX_BUDDIES} entries`)
    const entry: BuddyEntry = { aor, displayName, addedAt: new Date().toISOString(), lastReadAt: null }
    this.buddies.set(aor, entry)
    await this.save()
    return entry
  }

  async remove(aor: Aor): Promise<boolean> {
    const had = this.buddies.delete(aor)
    if (had) await this.save()
    return had
  }

  async markRead(aor: Aor, at: string): Promise<void> {
    const b = this.buddies.get(aor)
    if (!b || (b.lastReadAt !== null && b.lastReadAt >= at)) return
    b.lastReadAt = at
    await this.save()
  }

  private save(): Promise<void> {
    const snapshot = { version: 1 as const, buddies: this.list() }
    const next = this.writing.catch(() => {}).then(() => writeJsonFile(this.path, snapshot))
    this.writing = next
    return next
  }
}
