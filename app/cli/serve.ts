import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { PeerOptions } from '../peer.js'
import { openPeerApi } from '../api/peer-api.js'
import { createLogger } from '../log.js'
import { startControlServer } from './control-server.js'
import { refuseIfRunning } from './control-socket.js'
import { startWebServer, type WebServer } from '../web/web-server.js'
import { ParleyError } from '../errors.js'
import type { RelayLimits } from '../api/contract.js'
import { PeerMetrics } from '../metrics/metrics.js'
import { startMetricsServer } from '../metrics/metrics-server.js'

export type ServeOptions = Omit<PeerOptions, 'log' | 'timers' | 'limits'> & {
  logLevel?: string
  /** Serve the UI in web mode on this port (0: any free one). */
  web?: number
  /** The built renderer; default `dist/renderer` of this package. */
  webRoot?: string
  /** Relay limits from flags: stored as settings, as if set in the UI. */
  relayLimits?: Partial<RelayLimits>
  /** Serve Prometheus metrics at /metrics on this port (0: any free one); docs/monitoring.md. */
  metrics?: number
  /** Where the metrics server listens; default 127.0.0.1. */
  metricsHost?: string
}

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/renderer/', import.meta.url))

/** `parley serve`: a headless peer. One JSON line per event on stdout. */
export async function serve(opts: ServeOptions, out: (line: object) => void): Promise<void> {
  const log = createLogger(opts.logLevel)
  const { logLevel: _, web, webRoot = DEFAULT_WEB_ROOT, relayLimits, metrics, metricsHost, ...peerOptions } = opts
  if (web !== undefined && !existsSync(`${webRoot}/index.html`)) {
    throw ParleyError.USAGE(`the UI is not built (no ${webRoot}/index.html): run npm run build:renderer`)
  }
  if (metricsHost !== undefined && !isIP(metricsHost)) throw ParleyError.USAGE(`--metrics-host must be an IP address, got ${JSON.stringify(metricsHost)}`)
  // Refuse early, before touching the DHT, if a peer already runs on this data dir.
  await refuseIfRunning(opts.dataDir)
  const served = await openPeerApi({ ...peerOptions, log })
  const { session, api } = served
  if (!session.peer && web === undefined) {
    await served.close()
    throw ParleyError.USAGE('no AOR yet: start once with --aor sip:user@domain (or with --web to choose it in the UI)')
  }
  if (relayLimits && Object.keys(relayLimits).length) await api.handle('settings.set', relayLimits)
  const closers: Array<() => Promise<void>> = []
  try {
    const control = await startControlServer(api, opts.dataDir, log)
    closers.push(() => control.close())
    let webServer: WebServer | null = null
    if (web !== undefined) {
      webServer = await startWebServer({ port: web, api, sip: served.sip, staticDir: webRoot, log })
      closers.push(() => webServer!.close())
      out({ event: 'web', url: webServer.url })
    }
    if (metrics !== undefined) {
      const metricsServer = await startMetricsServer({ metrics: new PeerMetrics(session), port: metrics, host: metricsHost, log })
      closers.push(() => metricsServer.close())
      out({ event: 'metrics', url: metricsServer.url })
    }
    const announce = () => {
      const peer = session.require()
      peer.on('message', (m) => out({ event: 'message', id: m.id, from: m.from, identity: m.identity, text: m.text }))
      peer.overlay.on('state', (state) => out({ event: 'overlay', state, dhtAddress: peer.overlay.dhtAddress() }))
      const status = peer.status()
      out({
        event: 'ready',
        aor: status.aor,
        publicKey: status.publicKey,
        fingerprint: status.fingerprint,
        overlay: status.overlay.state,
        dhtAddress: status.overlay.dhtAddress,
        registered: status.registrations.every((r) => r.state === 'announced'),
        sip: status.sip.transports,
        control: control.path,
        ...(webServer ? { web: webServer.url } : {})
      })
    }
    if (session.peer) announce()
    else {
      out({ event: 'setup', message: 'no AOR yet: choose one in the UI' })
      session.once('running', announce)
    }
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {})
    await served.close()
    throw err
  }

  await new Promise<void>((resolve) => {
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'shutting down')
      void (async () => {
        for (const close of closers.reverse()) await close().catch(() => {})
        await served.close()
        out({ event: 'stopped' })
        resolve()
      })()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
