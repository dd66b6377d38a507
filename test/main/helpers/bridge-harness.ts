import { EventEmitter } from 'node:events'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type { ParleyBridge } from '../../../app/api/desktop-bridge.js'
import { isTrustedSender, type FrameLike } from '../../../main/ipc-guard.js'
import type { MessagePortMainLike } from '../../../main/message-port.js'
import { setupRendererBridge, type IpcEventLike, type IpcMainLike, type RendererBridge, type RendererBridgeOptions, type SenderFrameLike } from '../../../main/renderer-bridge.js'
import { setupPeer, type PeerHost } from '../../../main/peer-host.js'
import { silentLogger } from '../../../app/log.js'
import { Lab } from '../../helpers/overlay.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const PRELOAD = `${ROOT}dist/main/preload.cjs`
export const APP_ORIGIN = 'app://parley'

/**
 * Electron's MessagePortMain over a node:worker_threads port: `{data}` events,
 * and nothing delivered before `start()` (MessagePortMain queues until then).
 */
export function mainPort(port: MessagePort): MessagePortMainLike & { received: number } {
  const listeners: Array<(e: { data: unknown }) => void> = []
  let started = false
  const wrapper = {
    received: 0,
    on(event: 'message' | 'close', listener: ((e: { data: unknown }) => void) | (() => void)) {
      if (event === 'close') port.on('close', listener as () => void)
      else {
        listeners.push(listener as (e: { data: unknown }) => void)
        if (started) attach(listener as (e: { data: unknown }) => void)
      }
      return wrapper
    },
    start() {
      if (started) return
      started = true
      for (const l of listeners) attach(l)
    },
    postMessage: (m: unknown) => port.postMessage(m),
    close: () => port.close()
  }
  const attach = (l: (e: { data: unknown }) => void) =>
    port.on('message', (data: unknown) => {
      wrapper.received++
      l({ data })
    })
  return wrapper
}

export type RendererListener = (event: { ports: MessagePort[] }, message: unknown) => void

/** A frame as main sees it; `postMessage` lands in whatever renderer listeners are attached. */
export class FakeFrame implements SenderFrameLike<MessagePort> {
  readonly posted: Array<{ channel: string; message: unknown; ports: number }> = []
  readonly rendererListeners = new Map<string, RendererListener[]>()
  constructor(
    public url: string,
    public frameTreeNodeId: number,
    public parent: FakeFrame | null = null
  ) {}

  postMessage(channel: string, message: unknown, transfer: MessagePort[] = []): void {
    this.posted.push({ channel, message, ports: transfer.length })
    for (const fn of this.rendererListeners.get(channel) ?? []) fn({ ports: transfer }, message)
  }

  /** A message to the renderer's listeners with no ports (`webContents.send`). */
  deliver(channel: string, message: unknown): void {
    for (const fn of this.rendererListeners.get(channel) ?? []) fn({ ports: [] }, structuredClone(message))
  }
}

type InvokeHandler = (event: IpcEventLike<MessagePort>, ...args: unknown[]) => unknown

/** `ipcMain`: listeners and invoke handlers per channel; `send` and `invoke` as if from a frame. */
export class FakeIpcMain extends EventEmitter implements IpcMainLike<MessagePort> {
  private readonly handlers = new Map<string, InvokeHandler>()

  send(frame: FakeFrame | null, channel: string, ...args: unknown[]): void {
    const event: IpcEventLike<MessagePort> = { senderFrame: frame }
    this.emit(channel, event, ...args)
  }

  handle(channel: string, handler: InvokeHandler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, handler)
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }

  /** As Electron: a handler's throw rejects the renderer's promise; no handler is an error too. */
  async invoke(frame: FakeFrame | null, channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return structuredClone(await handler({ senderFrame: frame }, ...args))
  }
}

/** `webContents` of the frame's page: `send(channel, …)` reaches the renderer's `ipcRenderer.on` listeners. */
export function pageOf(frame: FakeFrame) {
  return { send: (channel: string, message: unknown) => queueMicrotask(() => frame.deliver(channel, message)) }
}

export function newChannel(main: Array<ReturnType<typeof mainPort>> = []) {
  return () => {
    const { port1, port2 } = new MessageChannel()
    const wrapped = mainPort(port1)
    main.push(wrapped)
    return { port1: wrapped, port2 }
  }
}

export function trustedCheck(top: () => FakeFrame | null) {
  return (frame: FrameLike | null) => isTrustedSender(frame, { topFrame: top, appOrigin: APP_ORIGIN })
}

let built = false
/** Build the preload exactly as `npm run build:main` does. */
export function buildPreload(): void {
  if (built) return
  execFileSync('npm', ['run', '-s', 'build:preload'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  built = true
}

/**
 * Run the bundled preload the way a sandboxed renderer does: a script whose
 * `require` knows only `electron` (stubbed: contextBridge, ipcRenderer wired to
 * `frame` and `ipc`). Returns what it exposed as `window.parley`.
 */
export function loadPreload(frame: FakeFrame, ipc: FakeIpcMain): ParleyBridge {
  const exposed: Record<string, unknown> = {}
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => void (exposed[key] = value) },
    ipcRenderer: {
      on(channel: string, listener: RendererListener) {
        const list = frame.rendererListeners.get(channel) ?? []
        list.push(listener)
        frame.rendererListeners.set(channel, list)
      },
      removeListener(channel: string, listener: RendererListener) {
        const list = frame.rendererListeners.get(channel) ?? []
        frame.rendererListeners.set(
          channel,
          list.filter((l) => l !== listener)
        )
      },
      send: (channel: string, ...args: unknown[]) => queueMicrotask(() => ipc.send(frame, channel, ...args)),
      invoke: (channel: string, ...args: unknown[]) => ipc.invoke(frame, channel, ...structuredClone(args))
    }
  }
  const requireStub = (name: string) => {
    if (name === 'electron') return electron
    throw new Error(`a sandboxed preload cannot require ${name}`)
  }
  const module = { exports: {} }
  const context = vm.createContext({ require: requireStub, module, exports: module.exports, process: { platform: 'linux' }, console, queueMicrotask, setTimeout, clearTimeout })
  vm.runInContext(readFileSync(PRELOAD, 'utf8'), context, { filename: 'preload.cjs' })
  // contextBridge copies what crosses into the page's world: replies arrive as the page's own objects.
  const parley = exposed.parley as ParleyBridge
  const call: ParleyBridge['api']['call'] = (method, params) => parley.api.call(method, params).then((reply) => structuredClone(reply))
  return { ...parley, api: { ...parley.api, call } }
}

export interface BridgeLab {
  lab: Lab
  host: PeerHost
  /** The trusted top frame. */
  top: FakeFrame
  ipc: FakeIpcMain
  bridge: RendererBridge
}

/**
 * What both bridge test files stand on: the preload bundle built, a testnet, a
 * real peer set up the way main/main.ts does (DHT on loopback), a trusted top
 * frame at `pageUrl` and the bridge. Everything closes with `lab.destroy()`.
 */
export async function startBridgeLab(
  aor: string,
  pageUrl: string,
  bridgeOpts: Partial<Pick<RendererBridgeOptions<MessagePort>, 'newChannel' | 'onMalformedSip'>> = {}
): Promise<BridgeLab> {
  buildPreload()
  const lab = await Lab.create(6)
  const host = setupPeer({ dataDir: await lab.tempDir(), aor, bootstrap: lab.bootstrap, log: silentLogger(), peerOptions: { dhtHost: '127.0.0.1' } })
  lab.onTeardown(() => host.close())
  const top = new FakeFrame(pageUrl, 1)
  const ipc = new FakeIpcMain()
  const bridge = setupRendererBridge({ peer: host.served, isTrustedSender: trustedCheck(() => top), log: silentLogger(), ipc, newChannel: newChannel(), ...bridgeOpts })
  lab.onTeardown(async () => bridge.close())
  return { lab, host, top, ipc, bridge }
}
