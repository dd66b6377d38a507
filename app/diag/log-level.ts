import type { Logger } from 'pino'
import { LogLevel, type LogLevelChange } from '../api/contract.js'

/**
 * The log level of a running peer, changed without a restart.
 *
 * pino's child loggers (`log.child({transport: 'UDP'})`, made once when a
 * subsystem starts) are created with `Object.create(parent)`: unless a child
 * was given a level of its own, its level and its log methods are inherited
 * from the parent, so setting the level on the logger the peer was started
 * with changes what every child writes too. No subsystem here gives its
 * child a level, and this control keeps it that way by touching only the root.
 */
export class LogLevelControl {
  constructor(private readonly root: Logger) {}

  get level(): LogLevel {
    const parsed = LogLevel.safeParse(this.root.level)
    return parsed.success ? parsed.data : 'info'
  }

  /** Set the level (or just read it when `level` is undefined). */
  change(level?: LogLevel): LogLevelChange {
    const previous = this.level
    if (level !== undefined && level !== previous) {
      this.root.level = level
      // At warn, so the change is on record at every level but error, fatal and silent.
      this.root.warn({ logLevel: level, previous }, 'log level changed')
    }
    return { level: this.level, previous }
  }
}
