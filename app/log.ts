import { pino, type Logger } from 'pino'

/** Logs go to stderr as JSON lines; stdout belongs to the CLI's own output. */
export function createLogger(level = process.env.PARLEY_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2))
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

export type { Logger }
