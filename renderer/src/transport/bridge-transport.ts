import type { ApiTransport } from '../../../app/api/client.js'
import { API_EVENT_NAMES, type BridgeApi } from '../../../app/api/desktop-bridge.js'

/**
 * The contract over the desktop preload's `window.parley.api`, as the same text
 * envelopes `ApiClient` speaks over web mode's WebSocket, so the client (and its
 * validation of every result and event) is one and the same in both modes.
 */
export function bridgeTransport(bridge: BridgeApi): ApiTransport {
  const messageListeners: Array<(text: string) => void> = []
  const closeListeners: Array<(reason: string) => void> = []
  let closed = false
  const deliver = (envelope: object) => {
    if (closed) return
    const text = JSON.stringify(envelope)
    for (const fn of messageListeners) fn(text)
  }
  const unsubscribe = [
    ...API_EVENT_NAMES.map((name) => bridge.on(name, (data: unknown) => deliver({ event: name, data }))),
    bridge.onClose((reason) => {
      if (closed) return
      closed = true
      for (const fn of closeListeners) fn(reason)
    })
  ]
  return {
    send(text) {
      // ApiClient wrote it a moment ago; its id comes back with the reply.
      const { id, method, params } = JSON.parse(text) as { id: number; method: Parameters<BridgeApi['call']>[0]; params?: object }
      void bridge.call(method, params as never).then((reply) => deliver({ id, ...reply }))
    },
    onMessage: (fn) => void messageListeners.push(fn),
    onClose: (fn) => void closeListeners.push(fn),
    close() {
      closed = true
      for (const off of unsubscribe) off()
    }
  }
}
