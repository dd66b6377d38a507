/**
 * Overlay lookup benchmark: a real HyperDHT testnet on 127.0.0.1, users
 * registered through Parley's own OverlayNode, traced lookups from a separate
 * client, then idle maintenance traffic read from each node's UDX counters.
 *
 *   npm run bench:overlay -- --nodes 1000 --lookups 1000
 *
 * Human summary on stderr; JSON in bench/results/overlay-lookup-<nodes>.json
 * (and overlay-lookup-latest.json). See bench/README.md.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import { canonicalAor, type Aor } from '../app/identity/aor.js'
import { silentLogger } from '../app/log.js'
import { OverlayNode } from '../app/overlay/overlay-node.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')
/** OpenVoIP's design bound for background overlay traffic. */
const MAINTENANCE_TARGET_BPS = 500
const SUCCESS_TARGET = 1
/** Parallel node start-ups/registrations: enough to be quick, few enough not to starve the event loop. */
const SETUP_CONCURRENCY = 10
/** Failed lookups kept verbatim in the JSON for diagnosis. */
const MAX_FAILURES_KEPT = 20

// ── parameters ───────────────────────────────────────────────────────────────

interface Params {
  nodes: number
  users: number
  lookups: number
  concurrency: number
  idleSeconds: number
}

const FLAGS = {
  nodes: { default: 1000, min: 1 },
  users: { default: 100, min: 1 },
  lookups: { default: 1000, min: 1 },
  concurrency: { default: 10, min: 1 },
  'idle-seconds': { default: 60, min: 1 }
} as const

const USAGE =
  'usage: bench/overlay-lookup.ts [--nodes N] [--users U] [--lookups L] [--concurrency C] [--idle-seconds S]'

function parseFlags(argv: string[]): Params {
  const str = { type: 'string' } as const
  const { values } = parseArgs({
    args: argv,
    options: { nodes: str, users: str, lookups: str, concurrency: str, 'idle-seconds': str, help: { type: 'boolean' } },
    strict: true
  })
  if (values.help) {
    process.stderr.write(USAGE + '\n')
    process.exit(0)
  }
  const int = (name: keyof typeof FLAGS): number => {
    const raw = values[name]
    if (raw === undefined) return FLAGS[name].default
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(n) || n < FLAGS[name].min) {
      throw new UsageError(`--${name} must be an integer ≥ ${FLAGS[name].min}, got ${JSON.stringify(raw)}`)
    }
    return n
  }
  return {
    nodes: int('nodes'),
    users: int('users'),
    lookups: int('lookups'),
    concurrency: int('concurrency'),
    idleSeconds: int('idle-seconds')
  }
}

class UsageError extends Error {}

// ── small helpers ────────────────────────────────────────────────────────────

const log = (msg: string): void => void process.stderr.write(msg + '\n')

/** Run `fn` over `items` with at most `limit` in flight; results keep input order. */
async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/** Nearest-rank percentile (p in 0..100) of an unsorted list; null when empty. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null
}

function max(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => Math.max(a, b), -Infinity) : null
}

const round = (n: number | null, digits = 1): number | null => (n === null ? null : Number(n.toFixed(digits)))

function seconds(since: number): number {
  return Number(((performance.now() - since) / 1000).toFixed(2))
}

/** Progress lines at every 10 % so a long run shows it is alive without flooding stderr. */
function progress(label: string, total: number): () => void {
  let done = 0
  const step = Math.max(1, Math.ceil(total / 10))
  return () => {
    done++
    if (done % step === 0 || done === total) log(`  ${label}: ${done}/${total}`)
  }
}

// ── setup ────────────────────────────────────────────────────────────────────

interface User {
  aor: Aor
  node: OverlayNode
}

async function buildTestnet(nodes: number): Promise<{ testnet: Awaited<ReturnType<typeof createTestnet>>; bootstrap: string[] }> {
  const testnet = await createTestnet(nodes, { host: '127.0.0.1' })
  return { testnet, bootstrap: testnet.bootstrap.map((b) => `${b.host}:${b.port}`) }
}

async function startOverlayNode(bootstrap: string[]): Promise<OverlayNode> {
  const node = new OverlayNode({ keyPair: HyperDHT.keyPair(), bootstrap, host: '127.0.0.1', log: silentLogger() })
  await node.start()
  // A node that found no bootstrap would start its own overlay and every figure would be meaningless.
  if (node.state !== 'joined') throw new Error(`overlay node did not join the testnet (state ${node.state})`)
  return node
}

async function startUsers(bootstrap: string[], count: number, started: OverlayNode[]): Promise<User[]> {
  const tick = progress('user nodes started', count)
  return mapPool(Array.from({ length: count }, (_, i) => i), SETUP_CONCURRENCY, async (i) => {
    const node = await startOverlayNode(bootstrap)
    started.push(node) // tracked at once so teardown closes it even if a later step throws
    tick()
    return { aor: canonicalAor(`sip:user${i}@bench.parley`), node }
  })
}

interface RegistrationSummary {
  announced: number
  failed: number
  /** How many DHT nodes acknowledged each announcement. */
  storedAt: { min: number | null; p50: number | null }
}

async function registerUsers(users: User[]): Promise<RegistrationSummary> {
  const tick = progress('users registered', users.length)
  const regs = await mapPool(users, SETUP_CONCURRENCY, async (u) => {
    const reg = await u.node.register(u.aor)
    tick()
    return reg
  })
  const stored = regs.map((r) => r.storedAt)
  const announced = regs.filter((r) => r.state === 'announced').length
  return {
    announced,
    failed: regs.length - announced,
    storedAt: { min: stored.length ? Math.min(...stored) : null, p50: percentile(stored, 50) }
  }
}

// ── lookups ──────────────────────────────────────────────────────────────────

interface LookupSample {
  aor: Aor
  success: boolean
  keysReturned: number
  hopsToFirstRecord: number | null
  latencyMs: number
  nodesContacted: number
  nodesTimedOut: number
  error?: string
}

async function lookupOnce(client: OverlayNode, user: User): Promise<LookupSample> {
  const t0 = performance.now()
  try {
    const { keys, trace } = await client.lookup(user.aor, { trace: true })
    const latencyMs = performance.now() - t0
    return {
      aor: user.aor,
      success: keys.some((k) => k.equals(user.node.publicKey)),
      keysReturned: keys.length,
      hopsToFirstRecord: trace?.hopsToFirstRecord ?? null,
      latencyMs,
      nodesContacted: trace?.nodes.length ?? 0,
      nodesTimedOut: trace?.nodes.filter((n) => n.outcome === 'timeout').length ?? 0
    }
  } catch (err) {
    const latencyMs = performance.now() - t0
    return {
      aor: user.aor,
      success: false,
      keysReturned: 0,
      hopsToFirstRecord: null,
      latencyMs,
      nodesContacted: 0,
      nodesTimedOut: 0,
      error: (err as Error).message
    }
  }
}

async function runLookups(client: OverlayNode, users: User[], count: number, concurrency: number): Promise<LookupSample[]> {
  // Targets drawn up front, uniformly with replacement, so concurrency does not change the mix.
  const targets = Array.from({ length: count }, () => users[Math.floor(Math.random() * users.length)]!)
  const tick = progress('lookups', count)
  return mapPool(targets, concurrency, async (u) => {
    const sample = await lookupOnce(client, u)
    tick()
    return sample
  })
}

// ── idle maintenance traffic ─────────────────────────────────────────────────

interface Counted {
  udx: { bytesTransmitted: number; bytesReceived: number }
}

const totalBytes = (d: Counted): number => d.udx.bytesTransmitted + d.udx.bytesReceived

interface IdleTraffic {
  measuredSeconds: number
  testnet: number[]
  users: number[]
  client: number
}

/**
 * Bytes/s per node over an idle window. Each HyperDHT owns its own UDX instance,
 * so the counters are per node; sent + received counts each packet at both ends,
 * which is what a node's uplink/downlink actually carries.
 */
async function measureIdle(testnet: Counted[], users: Counted[], client: Counted, idleSeconds: number): Promise<IdleTraffic> {
  const all = [...testnet, ...users, client]
  const before = all.map(totalBytes)
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
  const after = all.map(totalBytes)
  const measuredSeconds = (performance.now() - t0) / 1000
  const rates = after.map((a, i) => (a - before[i]!) / measuredSeconds)
  return {
    measuredSeconds,
    testnet: rates.slice(0, testnet.length),
    users: rates.slice(testnet.length, testnet.length + users.length),
    client: rates[rates.length - 1]!
  }
}

// ── results ──────────────────────────────────────────────────────────────────

interface Timings {
  testnetBuildSeconds: number
  userStartSeconds: number
  registrationSeconds: number
  lookupSeconds: number
}

function rateStats(rates: number[]): { mean: number | null; p50: number | null; p95: number | null; max: number | null } {
  return { mean: round(mean(rates)), p50: round(percentile(rates, 50)), p95: round(percentile(rates, 95)), max: round(max(rates)) }
}

function hopsHistogram(samples: LookupSample[]): Record<string, number> {
  const hist: Record<string, number> = {}
  for (const s of samples) {
    const key = s.hopsToFirstRecord === null ? 'none' : String(s.hopsToFirstRecord)
    hist[key] = (hist[key] ?? 0) + 1
  }
  return hist
}

function buildResult(params: Params, timings: Timings, reg: RegistrationSummary, samples: LookupSample[], idle: IdleTraffic) {
  const ok = samples.filter((s) => s.success)
  const hops = ok.map((s) => s.hopsToFirstRecord).filter((h): h is number => h !== null)
  const latency = samples.map((s) => s.latencyMs)
  const contacted = samples.map((s) => s.nodesContacted)
  const successRate = samples.length ? ok.length / samples.length : 0
  const testnetMaint = rateStats(idle.testnet)
  const userMaint = rateStats(idle.users)
  const maintPass =
    testnetMaint.mean !== null && testnetMaint.mean <= MAINTENANCE_TARGET_BPS && (userMaint.mean ?? 0) <= MAINTENANCE_TARGET_BPS

  return {
    benchmark: 'overlay-lookup',
    date: new Date().toISOString(),
    machine: {
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      totalMemBytes: os.totalmem(),
      node: process.version
    },
    parameters: params,
    setup: {
      ...timings,
      registrationsAnnounced: reg.announced,
      registrationsFailed: reg.failed,
      announceStoredAt: reg.storedAt,
      peakRssBytes: process.resourceUsage().maxRSS * 1024
    },
    successRate,
    lookupsSucceeded: ok.length,
    lookupsFailed: samples.length - ok.length,
    hops: {
      p50: percentile(hops, 50),
      p95: percentile(hops, 95),
      max: max(hops),
      histogram: hopsHistogram(samples)
    },
    latencyMs: {
      p50: round(percentile(latency, 50)),
      p95: round(percentile(latency, 95)),
      mean: round(mean(latency)),
      max: round(max(latency))
    },
    nodesContacted: {
      p50: percentile(contacted, 50),
      p95: percentile(contacted, 95),
      timedOutMean: round(mean(samples.map((s) => s.nodesTimedOut)), 2)
    },
    maintenance: {
      idleSeconds: round(idle.measuredSeconds, 2),
      bytesPerNodePerSecond: {
        testnet: { nodes: idle.testnet.length, ...testnetMaint },
        users: { nodes: idle.users.length, ...userMaint },
        client: round(idle.client)
      }
    },
    targets: {
      successRate: { target: SUCCESS_TARGET, measured: successRate, pass: successRate >= SUCCESS_TARGET },
      maintenanceBytesPerNodePerSecond: {
        target: MAINTENANCE_TARGET_BPS,
        measuredTestnetMean: testnetMaint.mean,
        measuredUserMean: userMaint.mean,
        pass: maintPass
      }
    },
    failures: samples.filter((s) => !s.success).slice(0, MAX_FAILURES_KEPT)
  }
}

type Result = ReturnType<typeof buildResult>

function printSummary(r: Result): void {
  const pct = (x: number): string => `${(x * 100).toFixed(2)} %`
  const mark = (pass: boolean): string => (pass ? 'PASS' : 'FAIL')
  const m = r.maintenance.bytesPerNodePerSecond
  const lines = [
    '',
    `overlay lookup benchmark — ${r.parameters.nodes} DHT nodes, ${r.parameters.users} users, ${r.parameters.lookups} lookups (concurrency ${r.parameters.concurrency})`,
    `  machine        ${r.machine.cpus} CPUs, ${(r.machine.totalMemBytes / 2 ** 30).toFixed(1)} GiB, node ${r.machine.node}`,
    `  setup          testnet ${r.setup.testnetBuildSeconds} s, user nodes ${r.setup.userStartSeconds} s, registration ${r.setup.registrationSeconds} s (${r.setup.registrationsAnnounced}/${r.parameters.users} announced, stored at ≥ ${r.setup.announceStoredAt.min} nodes)`,
    `  success        ${pct(r.successRate)} (${r.lookupsSucceeded}/${r.lookupsSucceeded + r.lookupsFailed})   target ${pct(SUCCESS_TARGET)}: ${mark(r.targets.successRate.pass)}`,
    `  hops to record p50 ${r.hops.p50}, p95 ${r.hops.p95}, max ${r.hops.max}   histogram ${JSON.stringify(r.hops.histogram)}`,
    `  latency ms     p50 ${r.latencyMs.p50}, p95 ${r.latencyMs.p95}, mean ${r.latencyMs.mean}, max ${r.latencyMs.max}`,
    `  nodes contacted p50 ${r.nodesContacted.p50}, p95 ${r.nodesContacted.p95} (timed out per lookup, mean ${r.nodesContacted.timedOutMean})`,
    `  idle traffic   over ${r.maintenance.idleSeconds} s, bytes/s per node (sent+received):`,
    `                 testnet nodes mean ${m.testnet.mean}, p50 ${m.testnet.p50}, p95 ${m.testnet.p95}, max ${m.testnet.max}`,
    `                 user nodes    mean ${m.users.mean}, p50 ${m.users.p50}, p95 ${m.users.p95}, max ${m.users.max}`,
    `                 lookup client ${m.client}`,
    `                 target ≤ ${MAINTENANCE_TARGET_BPS} B/s per node (mean): ${mark(r.targets.maintenanceBytesPerNodePerSecond.pass)}`,
    ''
  ]
  log(lines.join('\n'))
}

async function writeResults(r: Result): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const json = JSON.stringify(r, null, 2) + '\n'
  const file = join(RESULTS_DIR, `overlay-lookup-${r.parameters.nodes}.json`)
  await writeFile(file, json)
  await writeFile(join(RESULTS_DIR, 'overlay-lookup-latest.json'), json)
  return file
}

// ── main ─────────────────────────────────────────────────────────────────────

/** Everything that must be closed, in the order it must be closed. */
interface Resources {
  overlays: OverlayNode[]
  testnet: { destroy(): Promise<void> } | null
}

async function teardown(res: Resources): Promise<void> {
  log('tearing down…')
  // Overlay nodes first: their graceful leave (UNANNOUNCE) needs the testnet still up.
  await mapPool(res.overlays, SETUP_CONCURRENCY, (n) => n.close().catch((err: Error) => log(`  close failed: ${err.message}`)))
  await res.testnet?.destroy()
}

async function run(params: Params, res: Resources): Promise<void> {
  log(`building a ${params.nodes}-node HyperDHT testnet on 127.0.0.1…`)
  let t = performance.now()
  const { testnet, bootstrap } = await buildTestnet(params.nodes)
  res.testnet = testnet
  const testnetNodes = [...testnet.nodes] // snapshot: only the testnet's own nodes
  const timings: Partial<Timings> = { testnetBuildSeconds: seconds(t) }

  log(`starting ${params.users} user overlay nodes…`)
  t = performance.now()
  const users = await startUsers(bootstrap, params.users, res.overlays)
  timings.userStartSeconds = seconds(t)

  t = performance.now()
  const reg = await registerUsers(users)
  timings.registrationSeconds = seconds(t)

  const client = await startOverlayNode(bootstrap)
  res.overlays.push(client)

  log(`running ${params.lookups} lookups…`)
  t = performance.now()
  const samples = await runLookups(client, users, params.lookups, params.concurrency)
  timings.lookupSeconds = seconds(t)

  log(`measuring idle traffic for ${params.idleSeconds} s…`)
  const idle = await measureIdle(testnetNodes, users.map((u) => u.node.dht), client.dht, params.idleSeconds)

  const result = buildResult(params, timings as Timings, reg, samples, idle)
  printSummary(result)
  log(`results written to ${await writeResults(result)}`)
}

async function main(): Promise<void> {
  let params: Params
  try {
    params = parseFlags(process.argv.slice(2))
  } catch (err) {
    log(`overlay-lookup: ${(err as Error).message}`)
    process.exit(2)
  }
  const res: Resources = { overlays: [], testnet: null }
  let code = 0
  try {
    await run(params, res)
  } catch (err) {
    log(`overlay-lookup failed: ${(err as Error).stack ?? err}`)
    code = 1
  }
  await teardown(res).catch((err: Error) => log(`teardown failed: ${err.message}`))
  process.exit(code)
}

await main()
