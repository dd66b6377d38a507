import { join } from 'node:path'
import { pino, type Logger, type StreamEntry } from 'pino'
import pinoRoll from 'pino-roll'

export interface LogFileOptions {
  /** `join(app.getPath('userData'), 'logs')` (or `app.getPath('logs')`). */
  dir: string
  /** Rotate once the current file reaches this size; 5 MiB by default. */
  maxBytes?: number
  /** Most files kept, the current one included; 5 by default (≤ 25 MiB of logs); at least 2. */
  files?: number
  level?: string
  /** Also write to stderr (development runs from a terminal). */
  stderr?: boolean
}

export interface LogFile {
  log: Logger
  dir: string
  /** Flush and close the file (on quit). Safe to call twice. */
  close(): Promise<void>
}

/**
 * The desktop app's log: JSON lines (pino) in `parley.N.log` files, a new file
 * when the current one is full, the oldest deleted beyond `files`. pino-roll
 * does the rotation; counting the files earlier runs left (removeOtherLogFiles)
 * keeps the cap across restarts.
 */
export async function setupLogFile(opts: LogFileOptions): Promise<LogFile> {
  const stream = await pinoRoll({
    file: join(opts.dir, 'parley'),
    extension: '.log',
    size: `${opts.maxBytes ?? 5 * 1024 * 1024}b`,
    mkdir: true,
    // pino-roll lists the folder right after switching files, before the new one is
    // on disk: `count` is the files kept besides the current one (at most one fewer
    // when the new file was quick to appear).
    limit: { count: (opts.files ?? 5) - 1, removeOtherLogFiles: true }
  })
  // Each stream takes everything the logger passes; the logger's own level decides,
  // so `parley diag log-level debug` reaches the file too (multistream's default is info).
  const streams: StreamEntry[] = [{ stream, level: 'trace' }]
  if (opts.stderr) streams.push({ stream: pino.destination(2), level: 'trace' })
  const log = pino({ level: opts.level ?? process.env.PARLEY_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.multistream(streams))
  let closing: Promise<void> | null = null
  return {
    log,
    dir: opts.dir,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stream.once('close', () => resolve())
        stream.end()
      })
      return closing
    }
  }
}
