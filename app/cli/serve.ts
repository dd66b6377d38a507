import { Peer, type PeerOptions } from '../peer.js'
import { createLogger } from '../log.js'
import { startControlServer } from './control-server.js'
import { controlSocketPath, socketAnswers } from './control-socket.js'
import { ParleyError } from '../errors.js'

export type ServeOptions = Omit<PeerOptions, 'log' | 'timers' | 'limits'> & { logLevel?: string }

/** `parley serve`: a headless peer. One JSON line per event on stdout. */
export async function serve(opts: ServeOptions, out: (line: object) => void): Promise<void> {
  const log = createLogger(opts.logLevel)
  // Refuse early, before touching the DHT, if a peer already runs on this data dir.
  if (await socketAnswers(controlSocketPath(opts.dataDir))) throw ParleyError.DATA_DIR_IN_USE(opts.dataDir)
  const { logLevel: _, ...peerOptions } = opts
  const peer = await Peer.start({ ...peerOptions, log })
  let control
  try {
    control = await startControlServer(peer, opts.dataDir, log)
  } catch (err) {
    await peer.close()
    throw err
  }
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
    control: control.path
  })

  await new Promise<void>((resolve) => {
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'shutting down')
      void (async () => {
        await control.close()
        await peer.close()
        out({ event: 'stopped' })
        resolve()
      })()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
