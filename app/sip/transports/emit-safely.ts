import type { Logger } from 'pino'

/**
 * Runs an emit so that a listener's exception is logged rather than thrown
 * into a socket's event handler, where it would take the whole process down
 * (the mediasoup-client `safeEmit` habit).
 */
export function emitSafely(log: Logger, event: string, emit: () => void): void {
  try {
    emit()
  } catch (err) {
    log.error({ err, event }, 'transport listener threw')
  }
}
