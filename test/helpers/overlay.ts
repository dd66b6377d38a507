import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import createTestnet from 'hyperdht/testnet.js'
import { Peer, type PeerOptions } from '../../app/peer.js'
import { createLogger, silentLogger } from '../../app/log.js'

/** A real HyperDHT testnet on 127.0.0.1 plus temp data dirs, torn down together. */
export class Lab {
  private readonly cleanups: Array<() => Promise<void>> = []
  bootstrap: string[] = []

  static async create(nodes = 10): Promise<Lab> {
    const lab = new Lab()
    const testnet = await createTestnet(nodes, { host: '127.0.0.1' })
    lab.bootstrap = testnet.bootstrap.map((b) => `${b.host}:${b.port}`)
    lab.cleanups.push(() => testnet.destroy())
    return lab
  }

  async tempDir(prefix = 'parley-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    this.cleanups.push(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  /** Start a peer on this testnet with short timers; closed on teardown. */
  async peer(aor: string, opts: Partial<PeerOptions> = {}): Promise<Peer> {
    const peer = await Peer.start({
      dataDir: opts.dataDir ?? (await this.tempDir()),
      aor,
      bootstrap: this.bootstrap,
      dhtHost: '127.0.0.1',
      log: process.env.PARLEY_TEST_LOG ? createLogger(process.env.PARLEY_TEST_LOG) : silentLogger(),
      ...opts,
      timers: { timerFMs: 5_000, connectTimeoutMs: 8_000, registrationRetryMs: 500, ...opts.timers }
    })
    this.cleanups.push(() => peer.close())
    return peer
  }

  onTeardown(fn: () => Promise<void>): void {
    this.cleanups.push(fn)
  }

  async destroy(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn().catch(() => {})
  }
}
