import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { PeerMetrics } from './metrics.js'

export interface MetricsServerOptions {
  metrics: PeerMetrics
  /** 0: any free port. */
  port: number
  /** Default 127.0.0.1: metrics name AORs' counts and roles, so they stay on the machine unless asked. */
  host?: string
  log: Logger
}

export interface MetricsServer {
  /** `http://HOST:PORT/metrics`, the address to scrape. */
  url: string
  port: number
  /** Safe to call twice. */
  close(): Promise<void>
}

export const METRICS_PATH = '/metrics'

/** A Prometheus scrape target: `GET /metrics` and nothing else. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const log = opts.log.child({ component: 'metrics' })
  const host = opts.host ?? '127.0.0.1'
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    respond(opts.metrics, req, res).catch((err: Error) => {
      log.error({ err }, 'metrics scrape failed')
      if (!res.headersSent) plain(res, 500, 'scrape failed\n')
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => log.error({ err }, 'metrics server error'))
  server.on('clientError', (_err, socket) => socket.destroy())
  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | null = null
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${METRICS_PATH}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
      return closing
    }
  }
}

async function respond(metrics: PeerMetrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (path !== METRICS_PATH) return plain(res, 404, 'not found: scrape /metrics\n')
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET')
    return plain(res, 405, 'method not allowed: use GET\n')
  }
  const body = await metrics.metrics()
  res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' })
  res.end(body)
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end(text)
}
