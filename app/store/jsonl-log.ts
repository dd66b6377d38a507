import { open, readFile, type FileHandle } from 'node:fs/promises'
import type { z } from 'zod'
import type { Logger } from 'pino'

/**
 * An append-only file of JSON lines (owner-only), each append fsynced in
 * order. On open every line that parses and matches the schema is replayed;
 * torn or foreign lines are skipped and counted, never rewritten, so earlier
 * records always survive a crash.
 */
export class JsonlLog<T> {
  private writing: Promise<void> = Promise.resolve()

  private constructor(
    readonly path: string,
    private file: FileHandle | null,
    /** Lines skipped on open. */
    readonly skippedLines: number
  ) {}

  static async open<T>(path: string, schema: z.ZodType<T>, replay: (record: T) => void, log: Logger, what: string): Promise<JsonlLog<T>> {
    let text = ''
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    let skipped = 0
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue
      let parsed
      try {
        parsed = schema.safeParse(JSON.parse(raw))
      } catch {
        parsed = null
      }
      if (!parsed?.success) {
        skipped++
        continue
      }
      replay(parsed.data)
    }
    if (skipped) log.warn({ path, skipped }, `skipped unreadable lines in the ${what}`)
    const file = await open(path, 'a', 0o600)
    // A crash mid-append leaves a line without its newline; start a fresh line so
    // the next record is not glued onto (and lost with) the torn one.
    if (text.length > 0 && !text.endsWith('\n')) await file.appendFile('\n')
    return new JsonlLog<T>(path, file, skipped)
  }

  append(record: T): Promise<void> {
    const text = JSON.stringify(record) + '\n'
    const next = this.writing.catch(() => {}).then(async () => {
      if (!this.file) throw new Error(`${this.path} is closed`)
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
