import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { answerRequest } from '../api/dispatch.js'
import { MAX_REQUEST_BYTES } from '../api/contract.js'
import type { ApiService } from '../api/api-service.js'
import type { SipStack } from '../sip-stack.js'
import { WsFlow } from '../sip/transports/ws-flow.js'
import { SIP_SUBPROTOCOL, WS_DEFAULTS, offersSip } from '../sip/transports/ws-transport.js'
import { normalizeHost } from '../sip/transports/source-address.js'
import { WebAuth } from './web-auth.js'
import { LOADER_CSP, LOADER_HTML } from './loader-page.js'
import { serveStatic } from './static-files.js'

export const APP_BASE = '/app/'
/** Sockets a single user's browser tabs could plausibly hold open. */
const MAX_SOCKETS = 32

export interface WebServerOptions {
  /** 127.0.0.1 unless said otherwise. */
  host?: string
  /** 0 picks a free port. */
  port: number
  api: ApiService
  /** The running peer's SIP stack (null before first-run setup). */
  sip: () => SipStack | null
  /** The built renderer (`dist/renderer`). */
  staticDir: string
  log: Logger
  /** Fixed token (tests); a fresh random one otherwise. */
  token?: string
}

export interface WebServer {
  url: string
  port: number
  close(): Promise<void>
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin'
}

/**
 * Web mode (`parley serve --web PORT`): serves the renderer on 127.0.0.1 and
 * bridges it to its peer — the UI contract over `/api` (JSON envelopes over a
 * WebSocket) and SIP over `/sip` (RFC 7118), whose flow may bind the peer's own
 * AOR without credentials because only the token holder can open it.
 */
export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const log = opts.log.child({ component: 'web' })
  const auth = new WebAuth(opts.token)
  const apiSockets = new Set<WebSocket>()
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_REQUEST_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false)
  })
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 })
  let appCsp = ''

  const onEvent = (name: string, data: unknown) => {
    const text = JSON.stringify({ event: name, data })
    for (const ws of apiSockets) if (ws.readyState === ws.OPEN) ws.send(text)
  }
  opts.api.on('event', onEvent)

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handleHttp(req, res).catch((err: unknown) => {
      log.error({ err }, 'web request failed')
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS)
      res.end()
    })
  })

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!auth.hostAllowed(req)) return void res.writeHead(421, SECURITY_HEADERS).end('wrong host')
    const path = (req.url ?? '/').split('?')[0] as string
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      if (auth.authorised(req)) return void res.writeHead(302, { ...SECURITY_HEADERS, Location: APP_BASE }).end()
      return void res
        .writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': LOADER_CSP, 'Cache-Control': 'no-store' })
        .end(req.method === 'HEAD' ? undefined : LOADER_HTML)
    }
    if (path === '/session' && req.method === 'POST') {
      req.resume()
      if (!auth.originAllowed(req) || !auth.authorised(req)) return void res.writeHead(403, SECURITY_HEADERS).end('forbidden')
      return void res.writeHead(204, { ...SECURITY_HEADERS, 'Set-Cookie': auth.sessionCookie(), 'Cache-Control': 'no-store' }).end()
    }
    if (!auth.authorised(req)) return void res.writeHead(401, SECURITY_HEADERS).end('this needs the token printed by parley serve --web')
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD' }).end()
    if (path === '/app') return void res.writeHead(301, { ...SECURITY_HEADERS, Location: APP_BASE }).end()
    if (!path.startsWith(APP_BASE)) return void res.writeHead(404, SECURITY_HEADERS).end('not found')
    await serveStatic(opts.staticDir, path.slice(APP_BASE.length), res, { ...SECURITY_HEADERS, 'Content-Security-Policy': appCsp })
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const refuse = (status: number) => {
      log.debug({ status, url: req.url }, 'refusing WebSocket handshake')
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    const path = (req.url ?? '').split('?')[0]
    if (!auth.hostAllowed(req)) return refuse(421)
    if (!auth.originAllowed(req)) return refuse(403)
    if (!auth.authorised(req)) return refuse(401)
    if (apiSockets.size + sipFlows.size >= MAX_SOCKETS) return refuse(503)
    if (path === '/api') return wss.handleUpgrade(req, socket, head, (ws) => adoptApi(ws))
    if (path === '/sip') {
      const stack = opts.sip()
      if (!stack) return refuse(503) // first-run setup not done: no AOR to register yet
      if (!offersSip(req.headers['sec-websocket-protocol'])) return refuse(400)
      return wss.handleUpgrade(req, socket, head, (ws) => adoptSip(ws, req, stack))
    }
    refuse(404)
  })

  function adoptApi(ws: WebSocket): void {
    apiSockets.add(ws)
    ws.on('close', () => apiSockets.delete(ws))
    ws.on('error', () => ws.terminate())
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text frames only')
      void answerRequest(opts.api, data.toString(), log).then((reply) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply))
      })
    })
  }

  const sipFlows = new Set<WsFlow>()
  function adoptSip(ws: WebSocket, req: IncomingMessage, stack: SipStack): void {
    const flow = new WsFlow(ws, normalizeHost(req.socket.remoteAddress ?? ''), req.socket.remotePort ?? 0, log, {
      idleTimeoutMs: WS_DEFAULTS.idleTimeoutMs,
      maxPendingWriteBytes: WS_DEFAULTS.maxPendingWriteBytes
    })
    sipFlows.add(flow)
    flow.once('close', () => sipFlows.delete(flow))
    stack.attachOwnUi(flow)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => log.error({ err }, 'web server error'))
  server.on('clientError', (_err, socket: Duplex) => socket.destroy())
  const port = (server.address() as AddressInfo).port
  auth.bind(port)
  const origin = `http://127.0.0.1:${port}`
  appCsp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'"
  ].join('; ')

  return {
    url: `${origin}/#token=${auth.token}`,
    port,
    async close() {
      opts.api.off('event', onEvent)
      for (const ws of apiSockets) ws.terminate()
      for (const flow of sipFlows) flow.terminate('web server closing')
      server.closeAllConnections()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
