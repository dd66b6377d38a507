/**
 * LAN discovery benchmark (root): N `parley serve` peers in network namespaces
 * on one bridge, no bootstrap and no route out (test/lab/lan-lab.ts). Measures
 * how long until every peer has found every other and joined an overlay, then
 * compares lookups and MESSAGEs answered from mDNS neighbours with the same
 * lookups through the DHT those neighbours bootstrapped (advertising off).
 *
 *   npm run bench:lan -- --peers 4 --rounds 50
 *
 * Summary on stderr; JSON in bench/results/lan-latest.json.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { controlRequest } from '../app/cli/control-client.js'
import { startLanLab, until, type LanHost, type LanLab } from '../test/lab/lan-lab.js'
import { summary } from './summary.js'

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results')
const log = (line: string) => process.stderr.write(`[bench:lan] ${line}\n`)

const { values } = parseArgs({ options: { peers: { type: 'string', default: '4' }, rounds: { type: 'string', default: '50' } }, strict: true })
const peers = Number(values.peers)
const rounds = Number(values.rounds)
if (!Number.isInteger(peers) || peers < 2 || peers > 50 || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: bench/lan.ts [--peers 2..50] [--rounds N]\n')
  process.exit(2)
}

async function timeLookups(from: LanHost, to: LanHost): Promise<{ ms: number[]; via: Set<string> }> {
  const ms: number[] = []
  const via = new Set<string>()
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    const r = (await controlRequest(from.dataDir, 'lookup', { aor: to.aor, trace: true })) as { keys: string[]; trace?: { via?: string } }
    ms.push(performance.now() - t0)
    if (r.keys.length === 0) throw new Error(`lookup of ${to.aor} found nobody`)
    via.add(r.trace?.via ?? 'dht')
  }
  return { ms, via }
}

async function timeMessages(from: LanHost, to: LanHost, tag: string): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < Math.min(rounds, 20); i++) {
    const t0 = performance.now()
    const r = (await controlRequest(from.dataDir, 'send', { to: to.aor, text: `${tag} ${i}` })) as { status: number }
    ms.push(performance.now() - t0)
    if (r.status !== 200) throw new Error(`MESSAGE got ${r.status}`)
  }
  return ms
}

let lab: LanLab | undefined
try {
  const names = Array.from({ length: peers }, (_, i) => `p${i}`)
  const t0 = Date.now()
  lab = await startLanLab(names)
  const readyAt = Date.now()
  log(`${peers} peers ready in ${readyAt - t0} ms (each first tries the public bootstrap, unreachable here)`)
  const l = lab
  const seenMs = await Promise.all(
    l.hosts.map(async (h) => {
      await until(`${h.name} to see all`, async () => ((await l.status(h)).overlay.lan?.peers.length ?? 0) >= peers - 1, 120_000)
      return Date.now() - readyAt
    })
  )
  const joinedMs = await Promise.all(
    l.hosts.map(async (h) => {
      await until(`${h.name} to join`, async () => (await l.status(h)).overlay.state === 'joined', 120_000)
      return Date.now() - readyAt
    })
  )
  log(`all found each other ${Math.max(...seenMs)} ms after ready; all joined by ${Math.max(...joinedMs)} ms`)
  const [a, b] = l.hosts as [LanHost, LanHost]
  const lanLookup = await timeLookups(a, b)
  const lanMessage = await timeMessages(a, b, 'lan')
  await controlRequest(b.dataDir, 'settings.set', { lanAdvertise: false })
  await until('the goodbye', async () => !(await l.status(a)).overlay.lan?.peers.some((p) => p.aor === b.aor), 30_000)
  const dhtLookup = await timeLookups(a, b)
  const dhtMessage = await timeMessages(a, b, 'dht')
  const result = {
    benchmark: 'lan',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? null, node: process.version },
    setup: `${peers} parley serve peers, one network namespace each on one bridge, no bootstrap, no route out; mDNS refresh 30 s`,
    startup: { readyMs: readyAt - t0, allSeenMs: summary(seenMs), allJoinedMs: summary(joinedMs) },
    lookupMs: { lan: { ...summary(lanLookup.ms), via: [...lanLookup.via] }, dht: { ...summary(dhtLookup.ms), via: [...dhtLookup.via] } },
    messageMs: { lan: summary(lanMessage), dht: summary(dhtMessage) }
  }
  await mkdir(RESULTS, { recursive: true })
  await writeFile(join(RESULTS, 'lan-latest.json'), JSON.stringify(result, null, 2) + '\n')
  log(`lookup p50 ${result.lookupMs.lan.p50} ms on the LAN vs ${result.lookupMs.dht.p50} ms through the DHT; MESSAGE p50 ${result.messageMs.lan.p50} vs ${result.messageMs.dht.p50} ms`)
  log('results in bench/results/lan-latest.json')
} finally {
  await lab?.close()
}
