import { EventEmitter } from 'node:events'
import { open, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from 'pino'

export const StoredMessage = z.object({
  kind: z.literal('message'),
  id: z.string().min(1).max(128),
  direction: z.enum(['in', 'out']),
  from: z.string(),
  fromName: z.string().nullable(),
  to: z.string(),
  contentType: z.string(),
  text: z.string(),
  at: z.string(),
  callId: z.string(),
  cseq: z.number().int(),
  /** Public key of the peer stream the message came over (incoming) or went to (outgoing). */
  peerKey: z.string().nullable(),
  /** How the sender's key relates to the key pinned for its AOR (incoming only). */
  identity: z.enum(['pinned', 'unverified', 'changed', 'self']).nullable(),
  status: z.enum(['received', 'sending', 'delivered', 'failed']),
  sipStatus: z.number().int().nullable()
})
export type StoredMessage = z.infer<typeof StoredMessage>

const StatusUpdate = z.object({
  kind: z.literal('status'),
  id: z.string(),
  status: z.enum(['delivered', 'failed']),
  sipStatus: z.number().int().nullable(),
  peerKey: z.string().nullable()
})
const Line = z.discriminatedUnion('kind', [StoredMessage, StatusUpdate])

/**
 * Sent and received messages, one JSON line per event in `messages.jsonl`
 * (owner-only). Appends are fsynced; a torn or foreign line is skipped on load
 * and counted, never rewritten, so earlier messages always survive a crash.
 */
export class MessageStore extends EventEmitter<{ change: [StoredMessage] }> {
  readonly path: string
  skippedLines = 0
  private readonly messages = new Map<string, StoredMessage>()
  private readonly dedupe = new Set<string>()
  private file: FileHandle | null = null
  private writing: Promise<void> = Promise.resolve()

  private constructor(dataDir: string, private readonly log: Logger) {
    super()
    this.path = join(dataDir, 'messages.jsonl')
  }

  static async open(dataDir: string, log: Logger): Promise<MessageStore> {
    const store = new MessageStore(dataDir, log)
    const tornTail = await store.load()
    store.file = await open(store.path, 'a', 0o600)
    // A crash mid-append leaves a line without its newline; start a fresh line so
    // the next record is not glued onto (and lost with) the torn one.
    if (tornTail) await store.file.appendFile('\n')
    return store
  }

  /** Reads the file; true when it ends without a newline. */
  private async load(): Promise<boolean> {
    let text = ''
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue
      let parsed
      try {
        parsed = Line.safeParse(JSON.parse(raw))
      } catch {
        parsed = { success: false as const }
      }
      if (!parsed.success) {
        this.skippedLines++
        continue
      }
      this.apply(parsed.data)
    }
    if (this.skippedLines) this.log.warn({ path: this.path, skipped: this.skippedLines }, 'skipped unreadable lines in the message store')
    return text.length > 0 && !text.endsWith('\n')
  }

  private apply(line: z.infer<typeof Line>): void {
    if (line.kind === 'message') {
      this.messages.set(line.id, line)
      if (line.direction === 'in') this.dedupe.add(dedupeKey(line))
    } else {
      const m = this.messages.get(line.id)
      if (m) Object.assign(m, { status: line.status, sipStatus: line.sipStatus, peerKey: line.peerKey ?? m.peerKey })
    }
  }

  /** True when this incoming request was stored before (a retransmission). */
  seen(m: Pick<StoredMessage, 'from' | 'callId' | 'cseq'>): boolean {
    return this.dedupe.has(dedupeKey(m))
  }

  /** Stores a message; `change` tells listeners (the UI) at once. */
  add(message: StoredMessage): Promise<void> {
    this.apply(message)
    this.emit('change', message)
    return this.append(message)
  }

  setStatus(id: string, status: 'delivered' | 'failed', sipStatus: number | null, peerKey: string | null): Promise<void> {
    const update = { kind: 'status' as const, id, status, sipStatus, peerKey }
    this.apply(update)
    const m = this.messages.get(id)
    if (m) this.emit('change', m)
    return this.append(update)
  }

  list(filter: { direction?: 'in' | 'out' } = {}): StoredMessage[] {
    return [...this.messages.values()].filter((m) => !filter.direction || m.direction === filter.direction)
  }

  get(id: string): StoredMessage | undefined {
    return this.messages.get(id)
  }

  private append(line: unknown): Promise<void> {
    const text = JSON.stringify(line) + '\n'
    const next = this.writing.catch(() => {}).then(async () => {
      if (!this.file) throw new Error('message store is closed')
      await this.file.appendFile(text)
      await this.file.datasync()
    })
    this.writing = next
    return next
  }

  async close(): Promise<void> {
    await this.writing.catch(() => {})
    await this.file?.close()
    this.file = null
  }
}

function dedupeKey(m: Pick<StoredMessage, 'from' | 'callId' | 'cseq'>): string {
  return `${m.from}\n${m.callId}\n${m.cseq}`
}
