import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import createTestnet from 'hyperdht/testnet.js'
import { ha1 } from '../app/sip/digest-auth.js'
import type { Account, HostPort } from '../test/interop/tools.js'

const PARLEY = fileURLToPath(new URL('../bin/parley.js', import.meta.url))

/**
 * A `parley serve` process as the registrar under test, in its own process like
 * Kamailio, on a small local DHT testnet (nothing contacts the public DHT), with
 * the same accounts (written as `accounts.json`, the file `parley accounts add`
 * writes), the same digest setting (MD5), and, like the Kamailio config (no
 * pike module), no per-source rate limit.
 */
export async function startParley(opts: { accounts: Account[]; domain: string; port: number }): Promise<{ address: HostPort; stop(): Promise<void> }> {
  const testnet = await createTestnet(5, { host: '127.0.0.1' })
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-'))
  const now = new Date().toISOString()
  await writeFile(
    join(dataDir, 'accounts.json'),
    JSON.stringify({
      version: 1,
      accounts: opts.accounts.map((a) => ({
        aor: `sip:${a.user}@${opts.domain}`,
        username: a.user,
        realm: opts.domain,
        ha1: { md5: ha1('MD5', a.user, opts.domain, a.password), sha256: ha1('SHA-256', a.user, opts.domain, a.password) },
        createdAt: now
      }))
    }),
    { mode: 0o600 }
  )
  const bootstrap = testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
  const child = spawn(
    process.execPath,
    [PARLEY, 'serve', '--data-dir', dataDir, '--aor', `sip:bench-owner@${opts.domain}`, '--bootstrap', bootstrap, '--dht-host', '127.0.0.1',
      '--sip-udp', String(opts.port), '--sip-domain', opts.domain, '--sip-rate-limit', 'off', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"event":"ready"')) resolve()
    })
    void exited.then(() => reject(new Error('parley serve exited before it was ready')))
  })
  return {
    address: { host: '127.0.0.1', port: opts.port },
    async stop() {
      child.kill('SIGTERM')
      await exited
      await testnet.destroy()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}
