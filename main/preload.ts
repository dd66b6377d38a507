/**
 * Preload for the sandboxed main window: exposes the `app/api` contract, SIP
 * connections and the shell channel to the page as `window.parley` (type:
 * app/api/desktop-bridge.ts), never `ipcRenderer` itself.
 *
 * Bundled by esbuild (`npm run build:preload`) into one CommonJS file,
 * dist/main/preload.cjs: a sandboxed preload is run as a script whose `require`
 * knows only `electron` and a few built-ins, so local imports (the contract's
 * name lists) must be inlined and nothing else of Node used.
 *
 * Each side checks what it receives: names against the contract here, so a
 * typo fails in the page with a clear error; everything again in main, which
 * trusts the page least. Replies cross `contextBridge` as plain data, because
 * it copies only the message of a thrown Error.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { MAX_REQUEST_BYTES, type ApiError } from '../app/api/contract.js'
import { isApiEventName, API_METHOD_NAMES, type BridgeApi, type BridgeReply, type ParleyBridge, type ShellBridge, type ShellCommand, type SipConnection, type SipSocketHandlers } from '../app/api/desktop-bridge.js'
import { BRIDGE_CHANNELS, MAX_SIP_PORT_MESSAGE, SHELL_CHANNELS, type SipPortReply } from './bridge-channels.js'

const methods = new Set<string>(API_METHOD_NAMES)

function failure(code: string, message: string): { ok: false; error: ApiError } {
  return { ok: false, error: { code, message } }
}

function safely(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    console.error('parley bridge listener threw', err)
  }
}

// ── The contract over one port ──────────────────────────────────────────────

let apiPort: MessagePort | null = null
let apiClosed: string | null = null
const queued: string[] = []
let nextCallId = 1
const pending = new Map<number, (reply: BridgeReply) => void>()
const eventListeners = new Map<string, Set<(data: unknown) => void>>()
const closeListeners = new Set<(reason: string) => void>()

ipcRenderer.on(BRIDGE_CHANNELS.apiPort, (event: IpcRendererEvent) => {
  const port = event.ports[0]
  if (!port || apiPort || apiClosed !== null) return
  apiPort = port
  port.addEventListener('message', (e: MessageEvent) => receiveApi(e.data))
  port.addEventListener('close', () => closeApi('the peer closed the bridge'))
  port.start()
  for (const text of queued.splice(0)) port.postMessage(text)
})
ipcRenderer.send(BRIDGE_CHANNELS.apiConnect)

function receiveApi(data: unknown): void {
  if (typeof data !== 'string') return
  let msg: { id?: unknown; ok?: unknown; result?: unknown; error?: Partial<ApiError>; event?: unknown; data?: unknown }
  try {
    msg = JSON.parse(data) as typeof msg
  } catch {
    return
  }
  if (msg === null || typeof msg !== 'object') return
  if (isApiEventName(msg.event)) {
    for (const fn of eventListeners.get(msg.event) ?? []) safely(() => fn(msg.data))
    return
  }
  if (typeof msg.id !== 'number') return
  const resolve = pending.get(msg.id)
  if (!resolve) return
  pending.delete(msg.id)
  if (msg.ok === true) return resolve({ ok: true, result: msg.result ?? null } as BridgeReply)
  const error = msg.error ?? {}
  resolve({
    ok: false,
    error: {
      code: typeof error.code === 'string' ? error.code : 'INTERNAL',
      message: typeof error.message === 'string' ? error.message : 'no error given',
      ...(error.details !== undefined ? { details: error.details } : {})
    }
  })
}

function closeApi(reason: string): void {
  if (apiClosed !== null) return
  apiClosed = reason
  for (const resolve of pending.values()) resolve(failure('CLOSED', `connection to the peer closed: ${reason}`))
  pending.clear()
  for (const fn of closeListeners) safely(() => fn(reason))
}

const api: BridgeApi = {
  call(method, params) {
    if (typeof method !== 'string' || !methods.has(method)) {
      return Promise.resolve(failure('BAD_REQUEST', `unknown method ${JSON.stringify(String(method)).slice(0, 80)}`))
    }
    if (apiClosed !== null) return Promise.resolve(failure('CLOSED', `connection to the peer closed: ${apiClosed}`))
    const id = nextCallId++
    let text: string
    try {
      text = JSON.stringify({ id, method, params: params ?? {} })
    } catch (err) {
      return Promise.resolve(failure('BAD_REQUEST', `${method} params are not JSON: ${(err as Error).message}`))
    }
    if (text.length > MAX_REQUEST_BYTES) return Promise.resolve(failure('BAD_REQUEST', `${method} request exceeds ${MAX_REQUEST_BYTES} bytes`))
    return new Promise((resolve) => {
      pending.set(id, resolve as (reply: BridgeReply) => void)
      if (apiPort) apiPort.postMessage(text)
      else queued.push(text)
    })
  },
  on(event, listener) {
    if (!isApiEventName(event)) throw new Error(`unknown event ${JSON.stringify(String(event)).slice(0, 80)}`)
    if (typeof listener !== 'function') throw new Error('listener must be a function')
    let set = eventListeners.get(event)
    if (!set) eventListeners.set(event, (set = new Set()))
    const fn = listener as (data: unknown) => void
    set.add(fn)
    return () => void set.delete(fn)
  },
  onClose(listener) {
    if (typeof listener !== 'function') throw new Error('listener must be a function')
    closeListeners.add(listener)
    return () => void closeListeners.delete(listener)
  }
}

// ── SIP, one port per connection ────────────────────────────────────────────

let nextSipId = 1
const connecting = new Map<number, (reply: SipPortReply, port: MessagePort | undefined) => void>()

ipcRenderer.on(BRIDGE_CHANNELS.sipPort, (event: IpcRendererEvent, reply: SipPortReply) => {
  if (!reply || typeof reply.id !== 'number') return
  const settle = connecting.get(reply.id)
  if (!settle) return
  connecting.delete(reply.id)
  settle(reply, event.ports[0])
})

function connectSip(handlers: SipSocketHandlers): SipConnection {
  if (!handlers || typeof handlers.onOpen !== 'function' || typeof handlers.onMessage !== 'function' || typeof handlers.onClose !== 'function') {
    throw new Error('sip.connect needs {onOpen, onMessage, onClose} functions')
  }
  const id = nextSipId++
  let port: MessagePort | null = null
  let closed = false
  const finish = (reason: string) => {
    if (closed) return
    closed = true
    connecting.delete(id)
    port?.close()
    safely(() => handlers.onClose(reason))
  }
  connecting.set(id, (reply, p) => {
    if (closed) return p?.close()
    if (!reply.ok) return finish(`${reply.error.code}: ${reply.error.message}`)
    if (!p) return finish('no port came with the reply')
    port = p
    p.addEventListener('message', (e: MessageEvent) => {
      if (!closed && typeof e.data === 'string') safely(() => handlers.onMessage(e.data as string))
    })
    p.addEventListener('close', () => finish('the peer closed the SIP connection'))
    p.start()
    safely(() => handlers.onOpen())
  })
  ipcRenderer.send(BRIDGE_CHANNELS.sipConnect, { id })
  return {
    send(text) {
      if (closed || !port || typeof text !== 'string' || text.length > MAX_SIP_PORT_MESSAGE) return false
      port.postMessage(text)
      return true
    },
    close: () => finish('closed by the app')
  }
}

// ── The shell channel: the page's calls, as the desktop sees them ───────────

const shell: ShellBridge = {
  report: (report) => ipcRenderer.invoke(SHELL_CHANNELS.report, report) as Promise<unknown>,
  onCommand(listener) {
    if (typeof listener !== 'function') throw new Error('listener must be a function')
    const fn = (_event: IpcRendererEvent, command: ShellCommand) => safely(() => listener(command))
    ipcRenderer.on(SHELL_CHANNELS.command, fn)
    return () => void ipcRenderer.removeListener(SHELL_CHANNELS.command, fn)
  }
}

const bridge: ParleyBridge = {
  api,
  sip: { connect: connectSip },
  shell,
  platform: { desktop: true, os: process.platform }
}
contextBridge.exposeInMainWorld('parley', bridge)
