import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { z } from 'zod'
import { Peer, type PeerOptions } from './peer.js'
import { IDENTITY_FILE } from './identity/identity-store.js'
import { canonicalAor } from './identity/aor.js'
import { readJsonFile } from './store/json-file.js'
import { ParleyError } from './errors.js'
import type { Identity } from './api/contract.js'

const StoredAor = z.object({ aor: z.string().nullable(), displayName: z.string().nullable().optional() })

/**
 * A peer that may not exist yet: on first run there is no AOR, and the UI's
 * first-run view chooses one (`setup`). Both the headless daemon with `--web`
 * and the desktop app hold their peer through this.
 *
 *   setup ──setup()──► starting ──► running
 *                         └──────► failed (setup() may be tried again)
 */
export class PeerSession extends EventEmitter<{ identity: [Identity]; running: [Peer] }> {
  peer: Peer | null = null
  private state: Identity['state'] = 'setup'
  private starting: Promise<Peer> | null = null
  private closed = false
  private lastError: Error | null = null

  private constructor(private readonly opts: PeerOptions) {
    super()
  }

  /** Starts the peer at once when an AOR is given or stored; otherwise waits in `setup`. */
  static async open(opts: PeerOptions): Promise<PeerSession> {
    const session = new PeerSession(opts)
    const stored = await readJsonFile(join(opts.dataDir, IDENTITY_FILE), StoredAor)
    if (opts.aor ?? stored?.aor) await session.start({ aor: opts.aor, displayName: opts.displayName })
    return session
  }

  /** A session around a peer started elsewhere (tests, embedders). */
  static running(peer: Peer, opts: PeerOptions): PeerSession {
    const session = new PeerSession(opts)
    session.peer = peer
    session.state = 'running'
    return session
  }

  identity(): Identity {
    const p = this.peer
    if (p) return { aor: p.aor, displayName: p.identity.displayName, publicKey: p.identity.keyPair.publicKey.toString('hex'), fingerprint: p.identity.fingerprint, state: 'running' }
    return { aor: null, displayName: null, publicKey: null, fingerprint: null, state: this.state }
  }

  /** First run: choose the AOR (and display name) and start the peer. */
  async setup(aor: string, displayName?: string): Promise<Identity> {
    if (this.peer || this.starting) throw new ParleyError('ALREADY_SET_UP', `this peer already has an AOR (${this.peer?.aor ?? 'starting'})`)
    canonicalAor(aor) // BAD_AOR before anything is written
    await this.start({ aor, displayName })
    return this.identity()
  }

  /** The running peer, or NOT_READY for requests that need one. */
  require(): Peer {
    if (this.peer) return this.peer
    throw new ParleyError('NOT_READY', this.state === 'setup' ? 'no AOR yet: finish the first-run setup' : `the peer is ${this.state}${this.lastError ? `: ${this.lastError.message}` : ''}`)
  }

  async close(): Promise<void> {
    this.closed = true
    await this.starting?.catch(() => {})
    await this.peer?.close()
  }

  private async start(profile: { aor?: string; displayName?: string }): Promise<void> {
    this.setState('starting')
    this.starting = Peer.start({ ...this.opts, ...profile })
    try {
      const peer = await this.starting
      if (this.closed) {
        await peer.close()
        return
      }
      this.peer = peer
      this.setState('running')
      this.emit('running', peer)
    } catch (err) {
      this.lastError = err as Error
      this.setState(this.opts.aor ? 'failed' : 'setup')
      throw err
    } finally {
      this.starting = null
    }
  }

  private setState(state: Identity['state']): void {
    this.state = state
    this.emit('identity', this.identity())
  }
}
