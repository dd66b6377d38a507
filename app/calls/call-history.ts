import { open, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { CallRecord } from '../api/contract.js'

/** Older entries stay on disk but are not loaded. */
export const MAX_LOADED_CALLS = 10_000

/**
 * Call history in `calls.jsonl`, one record per line, appended and fsynced.
 * The UI reports each call when it ends (it owns the call); a record with the
 * id of an earlier one replaces it. Torn or foreign lines are skipped on load.
 */
export class CallHistory {
  private readonly calls = new Map<string, CallRecord>()
  private file: FileHandle | null = null
  private writing: Promise<void> = Promise.resolve()
  skippedLines = 0

  private constructor(readonly path: string) {}

  static async open(dataDir: string, log: Logger): Promise<CallHistory> {
    const history = new CallHistory(join(dataDir, 'calls.jsonl'))
    let text = ''
    try {
      text = await readFile(history.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue
      let parsed
      try {
        parsed = CallRecord.safeParse(JSON.parse(raw))
      } catch {
        parsed = null
      }
      if (!parsed?.success) {
        history.skippedLines++
        continue
      }
      history.remember(parsed.data)
    }
    if (history.skippedLines) log.warn({ path: history.path, skipped: history.skippedLines }, 'skipped unreadable lines in the call history')
    history.file = await open(history.path, 'a', 0o600)
    if (text.length && !text.endsWith('\n')) await history.file.appendFile('\n')
    return history
  }

  /** Newest first. */
  list(limit: number): CallRecord[] {
    return [...this.calls.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1)).slice(0, limit)
  }

  record(call: CallRecord): Promise<void> {
    this.remember(call)
    const line = JSON.stringify(call) + '\n'
    const next = this.writing.catch(() => {}).then(async () => {
      if (!this.file) throw new Error('call history is closed')
      await this.file.appendFile(line)
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

  private remember(call: CallRecord): void {
    this.calls.delete(call.id)
    this.calls.set(call.id, call)
    if (this.calls.size > MAX_LOADED_CALLS) {
      const oldest = this.calls.keys().next().value
      if (oldest !== undefined) this.calls.delete(oldest)
    }
  }
}
