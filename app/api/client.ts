import {
  Api,
  ApiEvents,
  describeIssue,
  type ApiError,
  type ApiEvent,
  type ApiEventName,
  type ApiMethod,
  type ApiParams,
  type ApiResult
} from './contract.js'

/**
 * Moves contract envelopes as text. Web mode: a WebSocket; the desktop app:
 * an IPC channel; the CLI: the control socket. Browser-safe (no Node APIs).
 */
export interface ApiTransport {
  send(text: string): void
  onMessage(listener: (text: string) => void): void
  onClose(listener: (reason: string) => void): void
  close(): void
}

export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown
  ) {
    super(message)
  }
}

type Listener = (data: never) => void

/**
 * The UI's side of the contract: `call(method, params)` resolves with the
 * validated result; `on(event, fn)` receives pushed events, validated too, so
 * a peer speaking another version of the contract is noticed at once.
 */
export class ApiClient {
  private nextId = 1
  private readonly pending = new Map<number, { method: ApiMethod; resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly listeners = new Map<string, Set<Listener>>()
  private closedReason: string | null = null

  constructor(private readonly transport: ApiTransport) {
    transport.onMessage((text) => this.receive(text))
    transport.onClose((reason) => {
      this.closedReason = reason
      for (const p of this.pending.values()) p.reject(new ApiCallError('CLOSED', `connection to the peer closed: ${reason}`))
      this.pending.clear()
      for (const fn of this.listeners.get('close') ?? []) (fn as (r: string) => void)(reason)
    })
  }

  // `{} extends P`: true when every parameter is optional, so `params` may be left out.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  call<M extends ApiMethod>(method: M, ...args: {} extends ApiParams<M> ? [params?: ApiParams<M>] : [params: ApiParams<M>]): Promise<ApiResult<M>> {
    if (this.closedReason !== null) return Promise.reject(new ApiCallError('CLOSED', `connection to the peer closed: ${this.closedReason}`))
    const params = args[0] ?? {}
    const checked = Api[method].params.safeParse(params)
    if (!checked.success) return Promise.reject(new ApiCallError('BAD_REQUEST', `invalid ${method} request: ${describeIssue(checked.error)}`))
    const id = this.nextId++
    return new Promise<ApiResult<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject })
      this.transport.send(JSON.stringify({ id, method, params }))
    })
  }

  on<E extends ApiEventName>(event: E, listener: (data: ApiEvent<E>) => void): () => void
  on(event: 'close', listener: (reason: string) => void): () => void
  on(event: string, listener: Listener): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }

  close(): void {
    this.transport.close()
  }

  private receive(text: string): void {
    let msg: { id?: unknown; ok?: unknown; result?: unknown; error?: ApiError; event?: unknown; data?: unknown }
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      return
    }
    if (typeof msg.event === 'string' && Object.hasOwn(ApiEvents, msg.event)) {
      const name = msg.event as ApiEventName
      const parsed = ApiEvents[name].safeParse(msg.data)
      if (!parsed.success) return console.warn(`dropped ${name} event: ${describeIssue(parsed.error)}`)
      for (const fn of this.listeners.get(name) ?? []) (fn as (d: unknown) => void)(parsed.data)
      return
    }
    if (typeof msg.id !== 'number') return
    const p = this.pending.get(msg.id)
    if (!p) return
    this.pending.delete(msg.id)
    if (msg.ok === true) {
      const parsed = Api[p.method].result.safeParse(msg.result)
      if (parsed.success) p.resolve(parsed.data)
      else p.reject(new ApiCallError('BAD_RESULT', `${p.method} result: ${describeIssue(parsed.error)}`))
    } else {
      const err = msg.error ?? { code: 'INTERNAL', message: 'no error given' }
      p.reject(new ApiCallError(err.code, err.message, err.details))
    }
  }
}
