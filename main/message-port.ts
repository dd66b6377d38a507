/**
 * The parts of Electron's `MessagePortMain` the bridge uses. Structural, so the
 * bridge runs in plain Node under test: a `node:worker_threads` port wrapped to
 * deliver `{data}` events behaves the same (test/main/helpers).
 *
 * MessagePortMain queues messages until `start()`, and emits `close` when the
 * other end is gone (the page navigated, reloaded or crashed).
 */
export interface MessagePortMainLike {
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown
  on(event: 'close', listener: () => void): unknown
  start(): void
  postMessage(message: unknown): void
  close(): void
}

/** `MessageChannelMain`'s shape: port1 stays in main, port2 goes to the page. */
export interface MessageChannelLike<P> {
  port1: MessagePortMainLike
  port2: P
}
