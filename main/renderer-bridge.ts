import type { Logger } from 'pino'
import { z } from 'zod'
import type { ApiService } from '../app/api/api-service.js'
import { MAX_REQUEST_BYTES, type ReplyEnvelope } from '../app/api/contract.js'
import { answerRequest, type ApiHandler } from '../app/api/dispatch.js'
import { ParleyError, errorCode } from '../app/errors.js'
import type { SipStack } from '../app/sip-stack.js'
import { BRIDGE_CHANNELS, type SipPortReply } from './bridge-channels.js'
import { validated, type FrameLike } from './ipc-guard.js'
import type { MessageChannelLike, MessagePortMainLike } from './message-port.js'
import { PortFlow, type PortFlowOptions } from './port-flow.js'

/** Ports one page could plausibly hold (the API's, plus SIP reconnects); the same bound as web mode's sockets. */
const MAX_PORTS = 32

/** The sending frame of an `ipcMain.on` event: Electron's `WebFrameMain`, structurally. */
export interface SenderFrameLike<P> extends FrameLike {
  postMessage(channel: string, message: unknown, transfer?: P[]): void
}

export interface IpcEventLike<P> {
  readonly senderFrame: SenderFrameLike<P> | null
}

/** Electron's `ipcMain`, structurally. */
export interface IpcMainLike<P> {
  on(channel: string, listener: (event: IpcEventLike<P>, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: IpcEventLike<P>, ...args: unknown[]) => void): unknown
}

/** What the bridge answers from: `PeerHost.served` (app/api/peer-api.ts). */
export interface BridgedPeer {
  api: Pick<ApiService, 'handle' | 'on' | 'off'>
  /** The running peer's SIP stack; null before first-run setup. */
  sip(): Pick<SipStack, 'attachOwnUi'> | null
}

export interface RendererBridgeOptions<P> {
  /**
   * The peer as it opens in the background: the window (and its preload) may ask
   * for ports first. API messages wait in the port (MessagePortMain queues until
   * `start()`) until it has opened; if it failed, each request is answered with why.
   */
  peer: Promise<BridgedPeer>
  /** Only the main window's top frame on the app's origin (ipc-guard.ts `isTrustedSender`). */
  isTrustedSender: (frame: FrameLike | null) => boolean
  log: Logger
  /** `ipcMain` in the app. */
  ipc: IpcMainLike<P>
  /** `() => new MessageChannelMain()` in the app. */
  newChannel: () => MessageChannelLike<P>
  /** Reports SIP port messages dropped as malformed (tests, diagnostics). */
  onMalformedSip?: PortFlowOptions['onMalformed']
}

export interface RendererBridge {
  /** Stops answering, closes every port and flow. Safe to call twice. */
  close(): void
}

const NoPayload = z.undefined()
const SipConnectRequest = z.object({ id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) }).strict()

/**
 * The desktop app's bridge between the page and its peer: the `app/api`
 * contract and SIP, each over its own MessagePort, so the renderer's SIP
 * reaches the peer without any local network port. The preload asks for ports
 * over IPC; only a trusted sender frame gets one (ipc-guard.ts), and every
 * message on a port is checked here — the page is the less trusted side.
 *
 * API port: one request envelope per message, as text, answered by
 * `answerRequest` like web mode's `/api`; contract events are pushed as
 * `{event, data}` text. SIP ports: see PortFlow.
 */
export function setupRendererBridge<P>(opts: RendererBridgeOptions<P>): RendererBridge {
  const log = opts.log.child({ component: 'renderer-bridge' })
  const apiPorts = new Set<MessagePortMainLike>()
  const sipFlows = new Set<PortFlow>()
  let closed = false
  let peer: BridgedPeer | null = null
  let peerError: Error | null = null

  const onEvent = (name: string, data: unknown) => {
    const text = JSON.stringify({ event: name, data })
    for (const port of apiPorts) port.postMessage(text)
  }
  const settled = opts.peer.then(
    (p) => {
      peer = p
      if (!closed) p.api.on('event', onEvent)
    },
    (err: unknown) => {
      peerError = err instanceof Error ? err : new Error(String(err))
    }
  )

  const full = () => apiPorts.size + sipFlows.size >= MAX_PORTS

  const connectApi = validated(
    BRIDGE_CHANNELS.apiConnect,
    NoPayload,
    (_payload, event: IpcEventLike<P>) => {
      if (closed || full()) return void log.warn({ ports: apiPorts.size + sipFlows.size }, 'refused an API port')
      const { port1, port2 } = opts.newChannel()
      adoptApi(port1)
      event.senderFrame?.postMessage(BRIDGE_CHANNELS.apiPort, null, [port2])
    },
    opts.isTrustedSender
  )

  const connectSip = validated(
    BRIDGE_CHANNELS.sipConnect,
    SipConnectRequest,
    ({ id }, event: IpcEventLike<P>) => {
      const frame = event.senderFrame
      const stack = peer?.sip() ?? null
      const refuse = (code: string, message: string) => frame?.postMessage(BRIDGE_CHANNELS.sipPort, { id, ok: false, error: { code, message } } satisfies SipPortReply)
      if (closed) return refuse('CLOSED', 'the app is quitting')
      if (!stack) return refuse('NOT_READY', 'no AOR yet: finish the first-run setup')
      if (full()) return refuse('TOO_MANY_PORTS', `at most ${MAX_PORTS} ports per app`)
      const { port1, port2 } = opts.newChannel()
      const flow = new PortFlow(port1, log, { onMalformed: opts.onMalformedSip })
      sipFlows.add(flow)
      flow.once('close', () => sipFlows.delete(flow))
      stack.attachOwnUi(flow)
      frame?.postMessage(BRIDGE_CHANNELS.sipPort, { id, ok: true } satisfies SipPortReply, [port2])
    },
    opts.isTrustedSender
  )

  // `ipcMain.on` listeners have no reply: an untrusted sender (validated throws FORBIDDEN)
  // is logged and ignored — it gets no port — and a bad payload is answered where it can be.
  const listen = (channel: string, handler: (event: IpcEventLike<P>, ...args: unknown[]) => unknown) => {
    const listener = (event: IpcEventLike<P>, ...args: unknown[]) => {
      try {
        const outcome = handler(event, ...args)
        if (isBadRequest(outcome)) {
          log.warn({ channel, error: outcome.error.message }, 'bad bridge request')
          if (channel === BRIDGE_CHANNELS.sipConnect && opts.isTrustedSender(event.senderFrame)) {
            event.senderFrame?.postMessage(BRIDGE_CHANNELS.sipPort, { id: null, ok: false, error: { code: 'BAD_REQUEST', message: outcome.error.message } } satisfies SipPortReply)
          }
        }
      } catch (err) {
        if (errorCode(err) === 'FORBIDDEN') log.warn({ channel, url: event.senderFrame?.url }, 'refused a bridge request from an untrusted frame')
        else log.error({ err, channel }, 'bridge request failed')
      }
    }
    opts.ipc.on(channel, listener)
    return () => opts.ipc.removeListener(channel, listener)
  }
  const unlisten = [listen(BRIDGE_CHANNELS.apiConnect, connectApi), listen(BRIDGE_CHANNELS.sipConnect, connectSip)]

  function adoptApi(port: MessagePortMainLike): void {
    apiPorts.add(port)
    port.on('close', () => apiPorts.delete(port))
    port.on('message', (e) => {
      const reply = (envelope: ReplyEnvelope) => {
        if (apiPorts.has(port)) port.postMessage(JSON.stringify(envelope))
      }
      const text = e.data
      if (typeof text !== 'string') return reply(badRequest('expected one JSON request envelope as text'))
      if (text.length > MAX_REQUEST_BYTES || Buffer.byteLength(text) > MAX_REQUEST_BYTES) return reply(badRequest(`request exceeds ${MAX_REQUEST_BYTES} bytes`))
      void answerRequest(peer?.api ?? failedPeer(peerError), text, log).then(reply)
    })
    void settled.then(() => port.start())
  }

  return {
    close() {
      if (closed) return
      closed = true
      for (const off of unlisten) off()
      peer?.api.off('event', onEvent)
      for (const port of apiPorts) port.close()
      apiPorts.clear()
      for (const flow of sipFlows) flow.close('the app is quitting')
    }
  }
}

/** Answers every request with why the peer is not there (answerRequest still reads the request's id). */
function failedPeer(err: Error | null): ApiHandler {
  const why = new ParleyError(errorCode(err) ?? 'PEER_FAILED', `the peer did not start: ${err?.message ?? 'unknown error'}`)
  return { handle: () => Promise.reject(why) }
}

function badRequest(message: string): ReplyEnvelope {
  return { id: null, ok: false, error: { code: 'BAD_REQUEST', message } }
}

function isBadRequest(outcome: unknown): outcome is { ok: false; error: { message: string } } {
  return typeof outcome === 'object' && outcome !== null && (outcome as { ok?: unknown }).ok === false
}
