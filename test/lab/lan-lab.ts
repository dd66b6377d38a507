/**
 * A LAN out of network namespaces: a `switch` namespace holding bridge br0 and
 * one namespace per host, linked to it by a veth pair, addressed 10.0.250.N/24
 * and with no route anywhere else. Each host runs `parley serve` with no
 * bootstrap, a SIP UDP transport on 5060 and a phone account
 * `sip:NAME-phone@lan.test` (password `pw-NAME`). Used by
 * test/lab/lan-discovery.test.ts and bench/lan.ts. Needs root.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CliProcess, PARLEY, runCli } from '../helpers/cli.js'
import { controlRequest } from '../../app/cli/control-client.js'
import { addAddress, addBridge, addVethPair, attachToBridge, cleanupStale, createNamespace, destroyNamespace, newPrefix, requireLab, spawnIn } from './netns.js'

export const NODE = process.execPath
const SUBNET = '10.0.250'

export interface LanStatus {
  publicKey: string
  overlay: {
    state: string
    routingTableSize: number
    lan: { advertising: boolean; mode: 'advertise' | 'browse'; peers: Array<{ aor: string; publicKey: string; address: string; dht: string | null }>; phones: Array<{ aor: string; contact: string; address: string }> } | null
  }
}

export interface LanHost {
  name: string
  ns: string
  address: string
  dataDir: string
  aor: string
  phone: string
  phonePassword: string
  peer: CliProcess
  /** When `parley serve` said it was ready (Date.now()). */
  readyAt: number
}

export interface LanLab {
  hosts: LanHost[]
  status(h: LanHost): Promise<LanStatus>
  close(): Promise<void>
}

export async function startLanLab(names: string[], opts: { serveArgs?: string[] } = {}): Promise<LanLab> {
  await requireLab()
  await cleanupStale()
  const prefix = await newPrefix()
  const work = await mkdtemp(join(tmpdir(), 'parley-lan-'))
  const namespaces: string[] = []
  const hosts: LanHost[] = []
  const close = async () => {
    for (const h of hosts) await h.peer.stop()
    for (const ns of namespaces.reverse()) await destroyNamespace(ns).catch(() => {})
    await rm(work, { recursive: true, force: true })
  }
  try {
    const sw = await createNamespace(prefix + 'switch')
    namespaces.push(sw)
    await addBridge(sw, 'br0')
    for (const [i, name] of names.entries()) {
      const ns = await createNamespace(prefix + name)
      namespaces.push(ns)
      await addVethPair(ns, 'eth0', sw, `p-${name}`.slice(0, 15))
      await attachToBridge(sw, `p-${name}`.slice(0, 15), 'br0')
      const address = `${SUBNET}.${i + 2}`
      await addAddress(ns, 'eth0', `${address}/24`)
      const dataDir = join(work, name)
      const phone = `sip:${name}-phone@lan.test`
      const phonePassword = `pw-${name}`
      const added = await runCli(['accounts', 'add', phone, '--password', phonePassword, '--data-dir', dataDir])
      assert.equal(added.code, 0, added.stderr)
      const aor = `sip:${name}@lan.test`
      // No --bootstrap: the public list, unreachable from here (the namespace has no route out).
      const args = [PARLEY, 'serve', '--data-dir', dataDir, '--aor', aor, '--name', name, '--sip-udp', '5060', '--sip-host', '0.0.0.0', '--sip-dns', 'off', ...(opts.serveArgs ?? [])]
      const peer = new CliProcess(spawnIn(ns, NODE, args, { env: { ...process.env, PARLEY_LOG_LEVEL: 'info' } }))
      hosts.push({ name, ns, address, dataDir, aor, phone, phonePassword, peer, readyAt: 0 })
    }
    await Promise.all(hosts.map(async (h) => h.peer.waitFor((l) => l.event === 'ready', 'ready').then(() => (h.readyAt = Date.now()))))
  } catch (err) {
    await close()
    throw err
  }
  return { hosts, status: (h) => controlRequest(h.dataDir, 'status', {}) as Promise<LanStatus>, close }
}

/** Poll `probe` every 200 ms until it returns something truthy. For outcomes, not for timing assertions. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => null)
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
