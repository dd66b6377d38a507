import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from 'pino'
import { JsonlLog } from '../store/jsonl-log.js'

const Line = z.discriminatedUnion('kind', [
  /** We mailed letter `seq` to `to` (a public key, hex). */
  z.object({ kind: z.literal('sent'), to: z.string().regex(/^[0-9a-f]{64}$/), seq: z.number().int().positive() }),
  /** We received letter `seq` from `from`. */
  z.object({ kind: z.literal('seen'), from: z.string().regex(/^[0-9a-f]{64}$/), seq: z.number().int().positive() })
])
type Line = z.infer<typeof Line>

/**
 * Sequence numbers per (sender, recipient), both ways: the next number for each
 * recipient we mail, and every (sender, seq) we received — a replayed envelope
 * (a holder serving it again, a copy an old holder kept) is recognised and not
 * shown twice. Append-only and fsynced (`letters.jsonl`), so a crash never
 * reuses a number or forgets a letter.
 */
export class LetterLedger {
  private readonly next = new Map<string, number>()
  private readonly seen = new Set<string>()
  private file!: JsonlLog<Line>

  static async open(dataDir: string, log: Logger): Promise<LetterLedger> {
    const ledger = new LetterLedger()
    ledger.file = await JsonlLog.open(join(dataDir, 'letters.jsonl'), Line, (line) => ledger.apply(line), log, 'letter ledger')
    return ledger
  }

  private apply(line: Line): void {
    if (line.kind === 'sent') this.next.set(line.to, Math.max(this.next.get(line.to) ?? 1, line.seq + 1))
    else this.seen.add(`${line.from}/${line.seq}`)
  }

  /** The next sequence number for a recipient, recorded before the letter leaves. */
  async nextSeq(recipient: Buffer): Promise<number> {
    const to = recipient.toString('hex')
    const seq = this.next.get(to) ?? 1
    const line: Line = { kind: 'sent', to, seq }
    this.apply(line)
    await this.file.append(line)
    return seq
  }

  hasSeen(sender: Buffer, seq: number): boolean {
    return this.seen.has(`${sender.toString('hex')}/${seq}`)
  }

  async markSeen(sender: Buffer, seq: number): Promise<void> {
    const line: Line = { kind: 'seen', from: sender.toString('hex'), seq }
    this.apply(line)
    await this.file.append(line)
  }

  close(): Promise<void> {
    return this.file.close()
  }
}
