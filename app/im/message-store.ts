import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from 'pino'
import { JsonlLog } from '../store/jsonl-log.js'

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
  /** `stored`: the recipient was offline and its mailbox holders took the sealed letter. */
  status: z.enum(['received', 'sending', 'delivered', 'stored', 'failed']),
  sipStatus: z.number().int().nullable(),
  /** Incoming through the mailbox (sent while we were offline). */
  mailed: z.boolean().optional()
})
export type StoredMessage = z.infer<typeof StoredMessage>

const StatusUpdate = z.object({
  kind: z.literal('status'),
  id: z.string(),
  status: z.enum(['delivered', 'stored', 'failed']),
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
  private readonly messages = new Map<string, StoredMessage>()
  private readonly dedupe = new Set<string>()
  private file!: JsonlLog<z.infer<typeof Line>>

  private constructor() {
    super()
  }

  static async open(dataDir: string, log: Logger): Promise<MessageStore> {
    const store = new MessageStore()
    store.file = await JsonlLog.open(join(dataDir, 'messages.jsonl'), Line, (line) => store.apply(line), log, 'message store')
    return store
  }

  get path(): string {
    return this.file.path
  }

  get skippedLines(): number {
    return this.file.skippedLines
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

  setStatus(id: string, status: 'delivered' | 'stored' | 'failed', sipStatus: number | null, peerKey: string | null): Promise<void> {
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

  private append(line: z.infer<typeof Line>): Promise<void> {
    return this.file.append(line)
  }

  close(): Promise<void> {
    return this.file.close()
  }
}

function dedupeKey(m: Pick<StoredMessage, 'from' | 'callId' | 'cseq'>): string {
  return `${m.from}\n${m.callId}\n${m.cseq}`
}
