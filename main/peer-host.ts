import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from 'pino'
import { Peer, type PeerOptions, type PeerStatus } from '../app/peer.js'
import { IDENTITY_FILE } from '../app/identity/identity-store.js'
import { readJsonFile } from '../app/store/json-file.js'
import { errorCode } from '../app/errors.js'

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
  /** Injected so tests can count or fail starts; defaults to `Peer.start`. */
  startPeer?: (opts: PeerOptions) => Promise<Peer>
}

export interface PeerHost {
  status(): PeerHostStatus
  /** Resolves once the peer has started or failed (or there was none to start). */
  readonly ready: Promise<void>
  /** Graceful leave; waits for a start in progress. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Boot the user's peer in the background so the window opens at once. With no
 * AOR known yet nothing starts: choosing one is the first-run UI's job.
 */
export function setupPeer(opts: PeerHostOptions): PeerHost {
  const startPeer = opts.startPeer ?? ((o: PeerOptions) => Peer.start(o))
  let peer: Peer | null = null
  let status: PeerHostStatus = { state: 'starting', aor: opts.aor ?? null }
  let closing: Promise<void> | null = null

  const ready = (async () => {
    try {
      const aor = opts.aor ?? (await readIdentityAor(opts.dataDir))
      if (aor === null) {
        status = { state: 'no-identity' }
        return
      }
      status = { state: 'starting', aor }
      const bootstrap = opts.bootstrap ?? (opts.bootstrapFile ? await readBootstrapList(opts.bootstrapFile) : undefined)
      peer = await startPeer({ dataDir: opts.dataDir, aor, bootstrap, log: opts.log, relay: opts.relay })
      if (closing) return // quit arrived while starting; close() shuts it down
      status = { state: 'running', peer: peer.status() }
      opts.log.info({ aor: peer.aor, fingerprint: peer.identity.fingerprint }, 'peer started')
    } catch (err) {
      opts.log.error({ err }, 'peer did not start')
      status = { state: 'failed', error: { code: errorCode(err) ?? null, message: (err as Error).message } }
    }
  })()

  return {
    ready,
    status() {
      if (status.state === 'running' && peer && !closing) status = { state: 'running', peer: peer.status() }
      return status
    },
    close() {
      closing ??= (async () => {
        await ready
        if (peer) {
          await peer.close()
          status = { state: 'closed' }
        }
      })()
      return closing
    }
  }
}

// Only the field the shell needs; app/identity validates the whole file when the peer starts.
const IdentityAor = z.object({ aor: z.string().nullable() })

/** The AOR stored in the identity file, without creating a key on first run. */
export async function readIdentityAor(dataDir: string): Promise<string | null> {
  const identity = await readJsonFile(join(dataDir, IDENTITY_FILE), IdentityAor)
  return identity?.aor ?? null
}

const BootstrapList = z.object({ nodes: z.array(z.string()).min(1) })

/** `resources/bootstrap.json`; `undefined` when absent (HyperDHT's own list applies). */
export async function readBootstrapList(path: string): Promise<string[] | undefined> {
  return (await readJsonFile(path, BootstrapList))?.nodes
}
