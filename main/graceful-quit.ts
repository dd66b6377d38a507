import { app } from 'electron'
import type { Logger } from 'pino'

export interface GracefulQuitOptions {
  /** Leave the overlay: unannounce, close streams and files. */
  close: () => Promise<void>
  log: Logger
  /** Quit anyway after this long; an unreachable DHT must not keep the app alive. */
  timeoutMs?: number
}

/**
 * Hold the first quit until the peer has left the overlay, then quit for real.
 * Signals (Ctrl-C on `npm start`, a service manager) take the same path.
 */
export function setupGracefulQuit(opts: GracefulQuitOptions): void {
  const timeoutMs = opts.timeoutMs ?? 10_000
  let state: 'running' | 'closing' | 'closed' = 'running'

  app.on('before-quit', (event) => {
    if (state === 'closed') return
    event.preventDefault()
    if (state === 'closing') return
    state = 'closing'
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        opts.log.warn({ timeoutMs }, 'peer did not close in time; quitting anyway')
        resolve()
      }, timeoutMs)
    })
    Promise.race([opts.close(), timeout])
      .catch((err: unknown) => opts.log.error({ err }, 'peer close failed'))
      .finally(() => {
        clearTimeout(timer)
        state = 'closed'
        app.quit()
      })
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit())
}
