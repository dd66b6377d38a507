import { Api, ApiEvents, type ApiError, type ApiEvent, type ApiEventName, type ApiMethod, type ApiParams, type ApiResult } from './contract.js'

/**
 * The desktop app's contract bridge as the page sees it: `window.parley`, put
 * there by the Electron preload through `contextBridge`. It is the contract of
 * ./contract.ts and nothing more — method and event names are these lists,
 * derived from `Api` and `ApiEvents`, never spelled out again.
 *
 * Browser-safe (no Node APIs): the preload bundle and the renderer import it.
 */

export const API_METHOD_NAMES = Object.keys(Api) as ApiMethod[]
export const API_EVENT_NAMES = Object.keys(ApiEvents) as ApiEventName[]

export function isApiEventName(name: unknown): name is ApiEventName {
  return typeof name === 'string' && Object.hasOwn(ApiEvents, name)
}

/**
 * A reply as it crosses `contextBridge`, which copies only the message of a
 * thrown Error: failures are plain data, the renderer rebuilds `ApiCallError`.
 * The result is as the peer sent it; `ApiClient` validates it.
 */
export type BridgeReply<M extends ApiMethod = ApiMethod> = { ok: true; result: ApiResult<M> } | { ok: false; error: ApiError }

export interface BridgeApi {
  /** Never rejects: an unknown method, bad params or a closed bridge resolve `{ok: false}`. */
  call<M extends ApiMethod>(method: M, params?: ApiParams<M>): Promise<BridgeReply<M>>
  /** Throws for a name that is not a contract event. Returns the unsubscribe function. */
  on<E extends ApiEventName>(event: E, listener: (data: ApiEvent<E>) => void): () => void
  /** The bridge to the peer closed (the main process is quitting); pending calls resolve `CLOSED`. */
  onClose(listener: (reason: string) => void): () => void
}

/** What the page is told about one SIP connection (RFC 7118 semantics: one message, one SIP message). */
export interface SipSocketHandlers {
  onOpen(): void
  onMessage(text: string): void
  /** Once, whatever closed it (the peer, the app, a refusal before it opened). */
  onClose(reason: string): void
}

export interface SipConnection {
  /** False when closed, not yet open, not text or too large. */
  send(text: string): boolean
  close(): void
}

/** What the page tells the desktop shell about its calls (checked in main/shell-channel.ts). */
export type ShellReport =
  /** The page is listening for commands (once per page load). */
  | { type: 'ready' }
  /** An incoming call is ringing in the page's user agent. */
  | { type: 'ringing'; callId: string; peer: string; peerName?: string }
  /** The calls in progress (ringing included), whenever the set changes. */
  | { type: 'calls'; active: string[] }
  /** The settings only the desktop has: without `openAtLogin` a question, with it a change. */
  | { type: 'desktop-settings'; openAtLogin?: boolean }

/** What the shell asks of the page. */
export type ShellCommand =
  /** Dial this target (an OS call link). */
  | { type: 'dial'; target: string }
  /** Show this view (a notification was clicked): '#/chat/<aor>', '#/history', '#/voicemail'. */
  | { type: 'route'; route: string }
  /** Answer or decline a ringing call from a notification. */
  | { type: 'answer'; callId: string }
  | { type: 'decline'; callId: string }
  /** The machine woke up: restart ICE on every call (the network may have changed). */
  | { type: 'restart-ice' }
  /** The desktop's own settings as they are now (the answer to a `desktop-settings` report). */
  | { type: 'desktop-settings'; openAtLogin: boolean; secrets: DesktopSecrets }

/** Where the gateway's phone passwords are kept (main/secrets.ts). */
export interface DesktopSecrets {
  /** The OS key store encrypts them. */
  available: boolean
  /** Linux without a secret service: encrypted with a key anyone on the machine can find. */
  weak: boolean
  /** Linux's key store backend as Electron chose it; null elsewhere. */
  backend: string | null
}

export interface ShellBridge {
  /** Resolves once main has taken the report (a malformed one resolves a BAD_REQUEST). */
  report(report: ShellReport): Promise<unknown>
  /** Returns the unsubscribe function. */
  onCommand(listener: (command: ShellCommand) => void): () => void
}

export interface ParleyBridge {
  api: BridgeApi
  /** A SIP connection to the user's own peer (its proxy and registrar), with no network port. */
  sip: { connect(handlers: SipSocketHandlers): SipConnection }
  /** Calls as the desktop shell sees them: notifications, sleep, OS call links. */
  shell: ShellBridge
  platform: { desktop: true; os: string }
}
