import { z } from 'zod'
import type { Logger } from 'pino'
import type { PeerOptions, PeerStatus } from '../app/peer.js'
import { openPeerApi, type PeerApi } from '../app/api/peer-api.js'
import { readJsonFile } from '../app/store/json-file.js'
import { errorCode } from '../app/errors.js'
import { startControlServer } from '../app/cli/control-server.js'
import { refuseIfRunning } from '../app/cli/control-socket.js'

/**
 * What the shell knows about its peer, as the renderer sees it.
 *
 *   starting ──┬──► running ──► closed     (close() on quit)
 *              ├──► failed                 (error shown; restart the app)
 *              └──► no-identity            (no AOR yet: the first-run UI, later issue)
 */
export type PeerHostStatus =
  | { state: 'no-identity' }
  | { state: 'starting'; aor: string | null }
  | { state: 'running'; peer: PeerStatus }
  | { state: 'failed'; error: { code: string | null; message: string } }
  | { state: 'closed' }

export interface PeerHostOptions {
  dataDir: string
  /** From `--aor=`; otherwise the AOR stored in the identity file, if any. */
  aor?: string
  /** From `--bootstrap=`; wins over `bootstrapFile`. */
  bootstrap?: string[]
  /** `resources/bootstrap.json`; missing means HyperDHT's built-in public list. */
  bootstrapFile?: string
  log: Logger
  /** Capacity probes for af(): Electron's powerMonitor (idle time, battery). */
  relay?: PeerOptions['relay']
  /** Test hook (short timers, local DHT host); the shell leaves it out. */
  peerOptions?: Partial<PeerOptions>
}

export interface PeerHost {
  status(): PeerHostStatus
  /**
   * The peer with the UI contract served on it, as `parley serve --web` runs it
   * (app/api/peer-api.ts): what the renderer bridge answers from. Rejects if it
   * could not open (the reason is also in `status()`).
   */
  readonly served: Promise<PeerApi>
  /** Resolves once the peer has started or failed (or waits in first-run setup). */
  readonly ready: Promise<void>
  /** Graceful leave; waits for a start in progress. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Boot the user's peer in the background so the window opens at once. With no
 * AOR known yet no peer starts, but the contract is served: choosing one is the
 * first-run UI's job (`identity.setup`).
 */
export function setupPeer(opts: PeerHostOptions): PeerHost {
  let served: PeerApi | null = null
  let failure: PeerHostStatus | null = null
  let closing: Promise<void> | null = null
  let closed = false

  let control: { close(): Promise<void> } | null = null

  const opening = (async () => {
    // One peer per data directory: a `parley serve` (or another shell) already on it keeps it.
    await refuseIfRunning(opts.dataDir)
    const bootstrap = opts.bootstrap ?? (opts.bootstrapFile ? await readBootstrapList(opts.bootstrapFile) : undefined)
    // The desktop app finds and is found by peers on its LAN (the setting can silence it).
    const s = await openPeerApi({ lan: { advertise: true }, ...opts.peerOptions, dataDir: opts.dataDir, aor: opts.aor, bootstrap, log: opts.log, relay: opts.relay })
    // The CLI (`parley status`, `parley diag`, …) reaches the desktop's peer as it reaches `parley serve`.
    control = await startControlServer(s.api, opts.dataDir, opts.log).catch((err: unknown) => {
      opts.log.warn({ err }, 'control socket not opened: the parley CLI cannot reach this peer')
      return null
    })
    return s
  })()
  const ready = opening.then(
    (s) => {
      served = s
      if (s.session.peer) opts.log.info({ aor: s.session.peer.aor, fingerprint: s.session.peer.identity.fingerprint }, 'peer started')
    },
    (err: unknown) => {
      opts.log.error({ err }, 'peer did not start')
      failure = { state: 'failed', error: { code: errorCode(err) ?? null, message: (err as Error).message } }
    }
  )

  return {
    served: opening,
    ready,
    status() {
      if (closed) return { state: 'closed' }
      if (failure) return failure
      if (!served) return { state: 'starting', aor: opts.aor ?? null }
      const peer = served.session.peer
      if (peer) return { state: 'running', peer: peer.status() }
      const identity = served.session.identity()
      if (identity.state === 'setup') return { state: 'no-identity' }
      if (identity.state === 'failed') return { state: 'failed', error: { code: null, message: 'the peer did not start' } }
      return { state: 'starting', aor: identity.aor }
    },
    close() {
      closing ??= (async () => {
        await ready
        await control?.close()
        if (served) {
          await served.close()
          closed = true
        }
      })()
      return closing
    }
  }
}

const BootstrapList = z.object({ nodes: z.array(z.string()).min(1) })

/** `resources/bootstrap.json`; `undefined` when absent (HyperDHT's own list applies). */
export async function readBootstrapList(path: string): Promise<string[] | undefined> {
  return (await readJsonFile(path, BootstrapList))?.nodes
}
