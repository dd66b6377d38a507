import type { ApiTransport } from '../../../app/api/client.js'

/**
 * The contract over a WebSocket (web mode: `ws://host/api`, authorised by the
 * session cookie the token loader set). Resolves once the socket is open.
 */
export function openWebSocketTransport(url: string): Promise<ApiTransport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const messageListeners: ((text: string) => void)[] = []
    const closeListeners: ((reason: string) => void)[] = []
    let open = false

    ws.addEventListener('message', (e: MessageEvent) => {
      if (typeof e.data !== 'string') return
      for (const fn of messageListeners) fn(e.data)
    })
    ws.addEventListener('close', (e: CloseEvent) => {
      const reason = e.reason || `code ${e.code}`
      if (!open) return reject(new Error(`could not connect to ${url}: ${reason}`))
      for (const fn of closeListeners) fn(reason)
    })
    ws.addEventListener('open', () => {
      open = true
      resolve({
        send: (text) => ws.send(text),
        onMessage: (fn) => void messageListeners.push(fn),
        onClose: (fn) => void closeListeners.push(fn),
        close: () => ws.close(1000, 'closed by the app')
      })
    })
  })
}
