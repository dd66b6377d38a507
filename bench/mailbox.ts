/**
 * Offline-message (mailbox) benchmark, issue 6: a local HyperDHT testnet on
 * 127.0.0.1 whose persistent nodes run real MailboxHolders (super-nodes), senders
 * that store sealed envelopes for offline users through MailboxClient, a quarter
 * of the holders killed without hand-off, then the users coming online, fetching
 * and deleting their mail.
 *
 *   npm run bench:mailbox                                   # the reference run: 50 holders, 1,000 users × 10
 *   npm run bench:mailbox -- --holders 12 --users 40 --kill 3   # quick check
 *
 * Human summary on stderr; JSON in bench/results/mailbox-latest.json. See bench/README.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import HyperDHT, { type KeyPair } from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import { COMMANDS } from 'hyperdht/lib/constants.js'
import messages from 'hyperdht/lib/messages.js'
import c from 'compact-encoding'
import { silentLogger } from '../app/log.js'
import { envelopeId, openEnvelope, sealLetter, type Envelope } from '../app/mailbox/envelope.js'
import { MailboxClient, type StoreOutcome } from '../app/mailbox/mailbox-client.js'
import { MailboxHolder, type RepairReport } from '../app/mailbox/mailbox-holder.js'
import { Command, STATUS } from '../app/mailbox/mailbox-wire.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')
const DELIVERY_TARGET = 1
/** Repair timer "off": a day (×1.25 jitter stays below setTimeout's 2^31−1 ms ceiling, above which Node fires at once). */
const REPAIR_OFF_MS = 86_400_000
/** All requesters are 127.0.0.1 here, so the per-host store limit (120/min by default) would refuse a benchmark, not a spammer. */
const STORES_PER_MINUTE = 10_000_000
const MAX_FAILURES_KEPT = 20

// ── parameters ───────────────────────────────────────────────────────────────

interface Params {
  holders: number
  bootstrapNodes: number
  users: number
  perUser: number
  kill: number
  replicas: number
  senders: number
  clients: number
  storeConcurrency: number
  fetchConcurrency: number
  coldUsers: number
  baselineUsers: number
  repairHalf: boolean
  seed: number
}

const FLAGS = {
  holders: { default: 50, min: 1 },
  bootstrap: { default: 3, min: 1 },
  users: { default: 1000, min: 1 },
  'per-user': { default: 10, min: 1 },
  kill: { default: -1, min: 0 },
  replicas: { default: 5, min: 1 },
  senders: { default: 16, min: 1 },
  clients: { default: 4, min: 1 },
  'store-concurrency': { default: 64, min: 1 },
  'fetch-concurrency': { default: 16, min: 1 },
  cold: { default: 25, min: 0 },
  baseline: { default: 100, min: 0 },
  seed: { default: 1, min: 0 }
} as const

const USAGE =
  'usage: bench/mailbox.ts [--holders N] [--bootstrap B] [--users U] [--per-user P] [--kill K (default ⌈N/4⌉)] [--replicas R]\n' +
  '                        [--senders S] [--clients C] [--store-concurrency X] [--fetch-concurrency Y] [--cold N] [--baseline N] [--no-repair] [--seed N]'

class UsageError extends Error {}

function parseFlags(argv: string[]): Params {
  const str = { type: 'string' } as const
  const { values } = parseArgs({
    args: argv,
    options: {
      holders: str,
      bootstrap: str,
      users: str,
      'per-user': str,
      kill: str,
      replicas: str,
      senders: str,
      clients: str,
      'store-concurrency': str,
      'fetch-concurrency': str,
      cold: str,
      baseline: str,
      seed: str,
      'no-repair': { type: 'boolean' },
      help: { type: 'boolean' }
    },
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
    if (!Number.isSafeInteger(n) || n < FLAGS[name].min) throw new UsageError(`--${name} must be an integer ≥ ${FLAGS[name].min}, got ${JSON.stringify(raw)}`)
    return n
  }
  const holders = int('holders')
  const kill = values.kill === undefined ? Math.ceil(holders / 4) : int('kill')
  if (kill >= holders) throw new UsageError(`--kill must leave at least one holder (${kill} of ${holders})`)
  const replicas = int('replicas')
  if (replicas > holders) throw new UsageError(`--replicas ${replicas} exceeds --holders ${holders}`)
  return {
    holders,
    bootstrapNodes: int('bootstrap'),
    users: int('users'),
    perUser: int('per-user'),
    kill,
    replicas,
    senders: int('senders'),
    clients: int('clients'),
    storeConcurrency: int('store-concurrency'),
    fetchConcurrency: int('fetch-concurrency'),
    coldUsers: int('cold'),
    baselineUsers: Math.min(int('baseline'), int('users')),
    repairHalf: !values['no-repair'],
    seed: int('seed')
  }
}

// ── small helpers ────────────────────────────────────────────────────────────

const log = (msg: string): void => void process.stderr.write(msg + '\n')

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

/** Nearest-rank percentile (p in 0..100); null when empty. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!
}

const round = (n: number | null, digits = 1): number | null => (n === null ? null : Number(n.toFixed(digits)))

function dist(values: readonly number[]): { p50: number | null; p95: number | null; mean: number | null; max: number | null } {
  return {
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    mean: round(values.length ? values.reduce((a, b) => a + b, 0) / values.length : null),
    max: round(values.length ? values.reduce((a, b) => Math.max(a, b), -Infinity) : null)
  }
}

function histogram(values: readonly (number | string)[]): Record<string, number> {
  const h: Record<string, number> = {}
  for (const v of values) h[String(v)] = (h[String(v)] ?? 0) + 1
  return Object.fromEntries(Object.entries(h).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })))
}

const seconds = (since: number): number => Number(((performance.now() - since) / 1000).toFixed(2))

/** mulberry32: a small seeded PRNG, so which holders die and the store order repeat run to run. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0
  let c = 1
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1)
  return c
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

function progress(label: string, total: number): () => void {
  let done = 0
  const step = Math.max(1, Math.ceil(total / 10))
  return () => {
    done++
    if (done % step === 0 || done === total) log(`  ${label}: ${done}/${total}`)
  }
}

// ── the network ──────────────────────────────────────────────────────────────

type Testnet = Awaited<ReturnType<typeof createTestnet>>

interface Resources {
  testnet: Testnet | null
  holders: MailboxHolder[]
  dirs: string[]
  clients: HyperDHT[]
}

async function ephemeralNode(testnet: Testnet, res: Resources): Promise<HyperDHT> {
  const node = new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1', ephemeral: true })
  res.clients.push(node)
  await node.fullyBootstrapped()
  return node
}

/**
 * Observe a client DHT node without changing it: how long each routing query
 * (dht-rpc findNode, which findHolders starts with) takes, into whatever sink is
 * current. The rest of a fetch is PROBEs (a silent candidate costs a timeout)
 * and FETCH pages.
 */
const querySink: { ms: number[] } = { ms: [] }
/** Per mailbox command (PROBE, STORE, FETCH, DELETE): how long each dht-rpc request took and how it ended. */
let replySink = new Map<string, { ms: number[]; outcomes: string[] }>()
const COMMAND_NAMES = new Map<number, string>(Object.entries(Command).map(([name, n]) => [n, name]))

interface RawRequest {
  token: Uint8Array | null
  command: number
  target: Uint8Array
  value: Uint8Array
}
type RawReply = { error: number; value: Uint8Array | null }

function instrument(dht: HyperDHT): HyperDHT {
  const raw = dht as unknown as {
    findNode(target: Buffer, opts?: unknown): { finished(): Promise<void> }
    request(req: RawRequest, to: unknown, opts?: unknown): Promise<RawReply>
  }
  const request = raw.request.bind(raw)
  // The request as dht-rpc sees it, from creation (so time queued behind its congestion window counts)
  // to the reply or its own timeout (1 s for a request without retries, whatever the caller's timeout).
  raw.request = (req, to, opts) => {
    const sent = request(req, to, opts)
    if (req.command !== COMMANDS.PLUGIN) return sent
    let name = 'OTHER'
    try {
      name = COMMAND_NAMES.get(c.decode(messages.pluginRequest, req.value).command) ?? 'OTHER'
    } catch {
      // not a mailbox request
    }
    const t0 = performance.now()
    const sink = replySink
    const entry = sink.get(name) ?? { ms: [], outcomes: [] }
    sink.set(name, entry)
    const record = (outcome: string) => {
      entry.ms.push(performance.now() - t0)
      entry.outcomes.push(outcome)
    }
    sent.then(
      (res) => {
        if (res.error !== 0) return record(`error ${res.error}`)
        try {
          record(STATUS[c.decode(c.uint, res.value ?? Buffer.alloc(0))] ?? 'UNKNOWN')
        } catch {
          record('UNDECODABLE')
        }
      },
      (err: Error & { code?: string }) => record(err.code ?? err.message)
    )
    return sent
  }
  const findNode = raw.findNode.bind(raw)
  raw.findNode = (target, opts) => {
    const q = findNode(target, opts)
    const t0 = performance.now()
    const sink = querySink.ms
    q.finished().then(
      () => sink.push(performance.now() - t0),
      () => sink.push(performance.now() - t0)
    )
    return q
  }
  return dht
}

function takeReplies(): Record<string, { requests: number; ms: ReturnType<typeof dist>; outcomes: Record<string, number> }> {
  const out: Record<string, { requests: number; ms: ReturnType<typeof dist>; outcomes: Record<string, number> }> = {}
  for (const [name, { ms, outcomes }] of [...replySink].sort(([a], [b]) => a.localeCompare(b))) out[name] = { requests: ms.length, ms: dist(ms), outcomes: histogram(outcomes) }
  replySink = new Map()
  return out
}

/** dht-rpc's request counters of some nodes, summed (requests sent, timed out, retried). */
function requestStats(nodes: HyperDHT[]): { total: number; timeouts: number; retries: number } {
  const out = { total: 0, timeouts: 0, retries: 0 }
  for (const n of nodes) {
    const r = (n as unknown as { io: { stats: { requests: { total: number; timeouts: number; retries: number } } } }).io.stats.requests
    out.total += r.total
    out.timeouts += r.timeouts
    out.retries += r.retries
  }
  return out
}

async function startHolders(testnet: Testnet, p: Params, res: Resources): Promise<void> {
  for (const node of testnet.nodes.slice(p.bootstrapNodes)) {
    const dir = await mkdtemp(join(os.tmpdir(), 'parley-bench-holder-'))
    res.dirs.push(dir)
    const holder = await MailboxHolder.open(
      dir,
      { dht: node, log: silentLogger() },
      { replicas: p.replicas, repairMs: REPAIR_OFF_MS, limits: { storesPerMinute: STORES_PER_MINUTE } }
    )
    holder.start()
    res.holders.push(holder)
  }
  // start() runs a first repair round after ≈5 s whatever repairMs is; let it pass (the stores are empty)
  // so that no repair runs while we store or after the kill until we ask for one.
  const deadline = Date.now() + 15_000
  while (res.holders.some((h) => !h.lastRepair) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250))
  if (res.holders.some((h) => !h.lastRepair)) throw new Error('holders did not finish their first (empty) repair round')
}

/** Every live envelope copy on the given holders: envelope id (hex) → how many holders have it. */
async function copyCounts(holders: MailboxHolder[]): Promise<{ copies: Map<string, number>; perHolder: number[] }> {
  const copies = new Map<string, number>()
  const perHolder: number[] = []
  for (const h of holders) {
    let n = 0
    for (const box of await h.store.mailboxes()) {
      for (const e of await h.store.list(box)) {
        const hex = e.id.toString('hex')
        copies.set(hex, (copies.get(hex) ?? 0) + 1)
        n++
      }
    }
    perHolder.push(n)
  }
  return { copies, perHolder }
}

// ── users and letters ────────────────────────────────────────────────────────

interface Letter {
  user: number
  sender: number
  senderKey: Buffer
  seq: number
  envelope: Envelope
  id: string
  body: string
}

interface User {
  index: number
  keyPair: KeyPair
  letters: Letter[]
}

function makeLetters(p: Params, users: User[], senders: KeyPair[]): Letter[] {
  const all: Letter[] = []
  for (const u of users) {
    for (let j = 0; j < p.perUser; j++) {
      const sender = j % p.senders
      const seq = Math.floor(j / p.senders) + 1
      const body = `bench letter ${j + 1}/${p.perUser} for user ${u.index} — a short text message, as typed.`
      const envelope = sealLetter(senders[sender]!, u.keyPair.publicKey, { seq, sentAt: Date.now(), kind: 'text', body: Buffer.from(body) })
      const letter = { user: u.index, sender, senderKey: senders[sender]!.publicKey, seq, envelope, id: envelopeId(envelope).toString('hex'), body }
      u.letters.push(letter)
      all.push(letter)
    }
  }
  return all
}

// ── store phase ──────────────────────────────────────────────────────────────

interface StoreSample {
  letter: Letter
  ms: number
  outcome: StoreOutcome | null
  error?: string
}

async function storeAll(p: Params, letters: Letter[], mail: MailboxClient[], nodes: HyperDHT[], random: () => number) {
  // Shuffled, so stores to one mailbox are spread out (as separate senders would be), not back to back.
  const order = shuffle([...letters], random)
  querySink.ms = []
  const queries = querySink.ms
  replySink = new Map()
  const before = requestStats(nodes)
  const tick = progress('stored', order.length)
  const t0 = performance.now()
  const samples = await mapPool(order, p.storeConcurrency, async (letter): Promise<StoreSample> => {
    const t = performance.now()
    try {
      const outcome = await mail[letter.sender]!.store(letter.envelope)
      tick()
      return { letter, ms: performance.now() - t, outcome }
    } catch (err) {
      tick()
      return { letter, ms: performance.now() - t, outcome: null, error: (err as Error).message }
    }
  })
  const after = requestStats(nodes)
  const requests = { total: after.total - before.total, timeouts: after.timeouts - before.timeouts, retries: after.retries - before.retries }
  return { samples, seconds: (performance.now() - t0) / 1000, senderNodes: { routingQueryMs: dist(queries), routingQueries: queries.length, requests, replies: takeReplies() } }
}

// ── coming online ────────────────────────────────────────────────────────────

interface DeliverySample {
  user: number
  cold: boolean
  bootstrapMs: number
  fetchMs: number
  deleteMs: number
  expected: number
  delivered: number
  missing: Array<{ sender: number; seq: number }>
  unexpected: number
  /** Letters whose store was not majority-acknowledged, delivered anyway (a minority of holders kept them). */
  unacknowledged: number
  invalid: number
  holdersAsked: number
  holderFailures: Array<{ holder: string; status: string }>
  deleted: number
  deleteFailures: number
  error?: string
}

async function comeOnline(user: User, expectedIds: Set<string>, node: () => Promise<HyperDHT>, cold: boolean, remove: boolean): Promise<DeliverySample> {
  const sample: DeliverySample = {
    user: user.index,
    cold,
    bootstrapMs: 0,
    fetchMs: 0,
    deleteMs: 0,
    expected: expectedIds.size,
    delivered: 0,
    missing: [],
    unexpected: 0,
    unacknowledged: 0,
    invalid: 0,
    holdersAsked: 0,
    holderFailures: [],
    deleted: 0,
    deleteFailures: 0
  }
  try {
    const t0 = performance.now()
    const dht = await node()
    sample.bootstrapMs = performance.now() - t0
    const mail = new MailboxClient(() => dht)
    const t1 = performance.now()
    const fetched = await mail.fetch(user.keyPair)
    sample.fetchMs = performance.now() - t1
    sample.holdersAsked = fetched.holders.length
    sample.holderFailures = fetched.failures
    const want = new Map(user.letters.filter((l) => expectedIds.has(l.id)).map((l) => [`${l.sender}/${l.seq}`, l]))
    const got = new Set<string>()
    for (const f of fetched.envelopes) {
      let letter
      try {
        letter = openEnvelope(user.keyPair, f.envelope)
      } catch {
        sample.invalid++
        continue
      }
      const mine = user.letters.find((l) => l.id === f.id.toString('hex'))
      // The letter inside must be one we sealed for this user: same sender key, seq and body.
      if (!mine || !letter.sender.equals(mine.senderKey) || letter.seq !== mine.seq || letter.body.toString() !== mine.body) {
        sample.unexpected++
        continue
      }
      const key = `${mine.sender}/${mine.seq}`
      if (want.has(key)) got.add(key)
      else sample.unacknowledged++
    }
    sample.delivered = got.size
    sample.missing = [...want.entries()].filter(([k]) => !got.has(k)).map(([, l]) => ({ sender: l.sender, seq: l.seq }))
    if (remove) {
      const t2 = performance.now()
      const del = await mail.delete(user.keyPair, fetched.envelopes.map((e) => e.id), fetched.holders)
      sample.deleteMs = performance.now() - t2
      sample.deleted = del.removed
      sample.deleteFailures = del.failures
    }
  } catch (err) {
    sample.error = (err as Error).message
  }
  return sample
}

async function deliver(
  label: string,
  p: Params,
  users: User[],
  expected: Map<number, Set<string>>,
  clients: HyperDHT[],
  coldUsers: number,
  fresh: () => Promise<HyperDHT>,
  remove = true
) {
  const tick = progress(label, users.length)
  querySink.ms = []
  const queries = querySink.ms
  replySink = new Map()
  const before = requestStats(clients)
  const t0 = performance.now()
  // Cold users spread evenly through the phase, so they meet the same conditions as the others.
  const every = coldUsers > 0 ? Math.max(1, Math.floor(users.length / coldUsers)) : 0
  const samples = await mapPool(users, p.fetchConcurrency, async (u, i) => {
    const cold = every > 0 && i % every === 0 && i / every < coldUsers
    let own: HyperDHT | null = null
    const node = cold
      ? async () => (own = await fresh())
      : async () => clients[i % clients.length]!
    const s = await comeOnline(u, expected.get(u.index)!, node, cold, remove)
    // The user goes offline again: its own node leaves (the shared client nodes stay).
    if (own) await (own as HyperDHT).destroy().catch(() => {})
    tick()
    return s
  })
  const after = requestStats(clients)
  const requests = { total: after.total - before.total, timeouts: after.timeouts - before.timeouts, retries: after.retries - before.retries }
  return { samples, remove, seconds: (performance.now() - t0) / 1000, clientNodes: { routingQueryMs: dist(queries), routingQueries: queries.length, requests, replies: takeReplies() } }
}

type Delivery = Awaited<ReturnType<typeof deliver>>

function deliverySummary({ samples, remove, seconds, clientNodes }: Delivery, lostAtKill: number) {
  const expected = samples.reduce((n, s) => n + s.expected, 0)
  const delivered = samples.reduce((n, s) => n + s.delivered, 0)
  const warm = samples.filter((s) => !s.cold)
  const cold = samples.filter((s) => s.cold)
  return {
    users: samples.length,
    seconds: round(seconds, 2),
    expected,
    delivered,
    completeness: expected ? delivered / expected : 1,
    usersComplete: samples.filter((s) => s.delivered === s.expected).length,
    envelopesWithNoSurvivingCopy: lostAtKill,
    unexpected: samples.reduce((n, s) => n + s.unexpected, 0),
    deliveredUnacknowledged: samples.reduce((n, s) => n + s.unacknowledged, 0),
    invalid: samples.reduce((n, s) => n + s.invalid, 0),
    errors: samples.filter((s) => s.error).length,
    latencyMs: {
      fetch: dist(warm.map((s) => s.fetchMs)),
      fetchAndDelete: remove ? dist(warm.map((s) => s.fetchMs + s.deleteMs)) : null,
      cold: cold.length
        ? { users: cold.length, bootstrap: dist(cold.map((s) => s.bootstrapMs)), bootstrapAndFetch: dist(cold.map((s) => s.bootstrapMs + s.fetchMs)) }
        : null
    },
    sharedClientNodes: clientNodes,
    holdersAsked: histogram(samples.map((s) => s.holdersAsked)),
    holderFetchFailures: histogram(samples.flatMap((s) => s.holderFailures.map((f) => f.status))),
    deleted: !remove ? null : { removed: samples.reduce((n, s) => n + s.deleted, 0), failedRequests: samples.reduce((n, s) => n + s.deleteFailures, 0) },
    failures: samples
      .filter((s) => s.missing.length || s.unexpected || s.invalid || s.error)
      .slice(0, MAX_FAILURES_KEPT)
      .map((s) => ({ user: s.user, expected: s.expected, delivered: s.delivered, missing: s.missing, unexpected: s.unexpected, invalid: s.invalid, holdersAsked: s.holdersAsked, holderFailures: s.holderFailures, error: s.error }))
  }
}

// ── main ─────────────────────────────────────────────────────────────────────

interface Timings {
  testnetAndHoldersSeconds?: number
  clientBootstrapSeconds?: number
  sealSeconds?: number
  storeSeconds?: number
  baselineSeconds?: number
  killSeconds?: number
  phaseASeconds?: number
  repairSeconds?: number
  phaseBSeconds?: number
}

async function run(p: Params, res: Resources) {
  const random = rng(p.seed)
  const timings: Timings = {}

  log(`building a testnet of ${p.bootstrapNodes} plain + ${p.holders} holder nodes on 127.0.0.1…`)
  let t = performance.now()
  const testnet = await createTestnet(p.bootstrapNodes + p.holders, { host: '127.0.0.1' })
  res.testnet = testnet
  const holderNodes = testnet.nodes.slice(p.bootstrapNodes)
  await startHolders(testnet, p, res)
  timings.testnetAndHoldersSeconds = seconds(t)

  t = performance.now()
  const senderNodes = (await Promise.all(Array.from({ length: p.senders }, () => ephemeralNode(testnet, res)))).map(instrument)
  const clientNodes = (await Promise.all(Array.from({ length: p.clients }, () => ephemeralNode(testnet, res)))).map(instrument)
  timings.clientBootstrapSeconds = seconds(t)
  const senderKeys = senderNodes.map(() => HyperDHT.keyPair())
  const mail = senderNodes.map((n) => new MailboxClient(() => n, { replicas: p.replicas }))

  const users: User[] = Array.from({ length: p.users }, (_, index) => ({ index, keyPair: HyperDHT.keyPair(), letters: [] }))
  t = performance.now()
  const letters = makeLetters(p, users, senderKeys)
  timings.sealSeconds = seconds(t)

  log(`storing ${letters.length} envelopes for ${p.users} offline users (${p.storeConcurrency} in flight, ${p.senders} senders)…`)
  const stored = await storeAll(p, letters, mail, senderNodes, random)
  timings.storeSeconds = Number(stored.seconds.toFixed(2))
  const ok = stored.samples.filter((s) => s.outcome?.stored)
  const acked = new Set(ok.map((s) => s.letter.id))
  const notStored = stored.samples.filter((s) => !s.outcome?.stored)

  log('counting copies on the holders…')
  const before = await copyCounts(res.holders)

  const expected = new Map(users.map((u) => [u.index, new Set(u.letters.filter((l) => acked.has(l.id)).map((l) => l.id))]))
  const fresh = () => ephemeralNode(testnet, res)
  // Baseline, nothing killed yet: a sample of users fetch (and do not delete), for comparison.
  let baseline = null
  if (p.baselineUsers > 0) {
    const sample = shuffle([...users], random).slice(0, p.baselineUsers)
    log(`baseline: ${sample.length} users fetch (without deleting) before anything is killed…`)
    const b = await deliver('baseline users', p, sample, expected, clientNodes, Math.min(p.coldUsers, Math.ceil(sample.length / 5)), fresh, false)
    timings.baselineSeconds = Number(b.seconds.toFixed(2))
    baseline = deliverySummary(b, 0)
  }

  // Kill a quarter: stop answering and destroy the DHT node, no hand-off (as SIGKILL looks from outside).
  const killIdx = new Set(shuffle(res.holders.map((_, i) => i), random).slice(0, p.kill))
  log(`killing ${p.kill} of ${p.holders} holders without hand-off…`)
  t = performance.now()
  for (const i of killIdx) {
    res.holders[i]!.stop()
    await holderNodes[i]!.destroy({ force: true })
  }
  timings.killSeconds = seconds(t)
  const live = res.holders.filter((_, i) => !killIdx.has(i))
  const afterKill = await copyCounts(live)
  const survivors = (ids: Iterable<string>) => {
    const h: number[] = []
    for (const id of ids) h.push(afterKill.copies.get(id) ?? 0)
    return h
  }

  // Users split: the first half comes online right after the kill; the second after one repair round.
  const half = p.repairHalf ? Math.ceil(users.length / 2) : users.length
  const groupA = users.slice(0, half)
  const groupB = users.slice(half)
  const idsOf = (group: User[]) => group.flatMap((u) => [...expected.get(u.index)!])
  const lostA = survivors(idsOf(groupA)).filter((n) => n === 0).length

  log(`phase A: ${groupA.length} users come online right after the kill (${p.fetchConcurrency} at a time; ${Math.min(p.coldUsers, groupA.length)} of them start a fresh DHT node)…`)
  const phaseA = await deliver('phase A users', p, groupA, expected, clientNodes, p.coldUsers, fresh)
  timings.phaseASeconds = Number(phaseA.seconds.toFixed(2))

  let phaseB = null
  let repair = null
  if (groupB.length) {
    const idsB = idsOf(groupB)
    const copiesBBefore = survivors(idsB)
    log(`repair: one round on each of the ${live.length} surviving holders, all at once…`)
    t = performance.now()
    const reports = await Promise.all(live.map((h) => h.repair()))
    timings.repairSeconds = seconds(t)
    const afterRepair = await copyCounts(live)
    const copiesBAfter = idsB.map((id) => afterRepair.copies.get(id) ?? 0)
    const sum = (k: keyof RepairReport) => reports.reduce((n, r) => n + r[k], 0)
    const copiesOf = (h: number[]) => h.reduce((a, b) => a + b, 0)
    repair = {
      holders: live.length,
      seconds: timings.repairSeconds,
      mailboxesVisited: sum('mailboxes'),
      pushed: sum('pushed'),
      pulled: sum('pulled'),
      dropped: sum('dropped'),
      unreachable: sum('unreachable'),
      groupB: {
        envelopes: idsB.length,
        copyRatioBefore: round(copiesOf(copiesBBefore) / (idsB.length * p.replicas), 4),
        copyRatioAfter: round(copiesOf(copiesBAfter) / (idsB.length * p.replicas), 4),
        copiesHistogramBefore: histogram(copiesBBefore),
        copiesHistogramAfter: histogram(copiesBAfter)
      }
    }
    const lostB = copiesBBefore.filter((n) => n === 0).length
    log(`phase B: ${groupB.length} users come online after the repair…`)
    const b = await deliver('phase B users', p, groupB, expected, clientNodes, p.coldUsers, fresh)
    timings.phaseBSeconds = Number(b.seconds.toFixed(2))
    phaseB = deliverySummary(b, lostB)
  }

  const storeMs = stored.samples.map((s) => s.ms)
  const a = deliverySummary(phaseA, lostA)
  const deliveredAll = a.delivered + (phaseB?.delivered ?? 0)
  const expectedAll = a.expected + (phaseB?.expected ?? 0)
  const completeness = expectedAll ? deliveredAll / expectedAll : 1

  return {
    benchmark: 'mailbox',
    date: new Date().toISOString(),
    machine: {
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      totalMemBytes: os.totalmem(),
      node: process.version
    },
    parameters: { ...p, envelopes: letters.length, killed: [...killIdx].sort((x, y) => x - y) },
    notes: [
      'All DHT nodes, holders and clients run in this one process on 127.0.0.1 (2 cores shared with everything else); latencies are CPU scheduling plus real DHT timeouts, not network RTTs.',
      `Holders are real MailboxHolders (Hyperbee on a Corestore in a fresh temp dir each, removed at the end), r = ${p.replicas}, repair timer off (repairMs = ${REPAIR_OFF_MS} ms; the one round start() runs after ~5 s is waited out before storing, on empty stores).`,
      `limits.storesPerMinute raised to ${STORES_PER_MINUTE}: every sender is 127.0.0.1 here, so the default per-host limit (120/min) would refuse the benchmark itself; the other limits are the defaults.`,
      'Killed = holder.stop() and its DHT node destroyed with force: no hand-off, no goodbye, as SIGKILL looks from outside. Killed holders are chosen with a seeded PRNG (--seed). Routing tables elsewhere still name them, so queries meet real timeouts.',
      'Client timeouts are the app defaults: a PROBE makes one try (dht-rpc gives up after ~1 s), so a silent candidate (a plain node, a killed one) costs 1 s; other commands retry within 5 s (they are idempotent). Users come online on already-bootstrapped ephemeral client nodes (the DHT join is not in fetch latency) except --cold users per phase (spread evenly through it), who each start a fresh ephemeral node and leave again afterwards (bootstrap + fetch reported apart).',
      'Delivery latency = MailboxClient.fetch() from its call (coming online) to its return with every envelope from every responsive holder among the 2r closest; delete is timed apart.',
      'Completeness = distinct (sender, seq) letters delivered and verified (openEnvelope for that user, body as sealed) / letters whose store was acknowledged by a majority. envelopesWithNoSurvivingCopy counts acknowledged letters whose every copy was on a killed holder (lost before anyone could fetch).'
    ],
    timings: { ...timings, peakRssBytes: process.resourceUsage().maxRSS * 1024 },
    store: {
      envelopes: letters.length,
      stored: ok.length,
      notStored: notStored.length,
      throughputPerSecond: round(letters.length / stored.seconds),
      storedPerSecond: round(ok.length / stored.seconds),
      latencyMs: dist(storeMs),
      acks: histogram(stored.samples.map((s) => s.outcome?.acks ?? 0)),
      asked: histogram(stored.samples.map((s) => s.outcome?.asked ?? 0)),
      notStoredCodes: histogram(notStored.map((s) => s.outcome?.code ?? `threw: ${s.error}`)),
      senderNodes: stored.senderNodes,
      replyStatuses: histogram(stored.samples.flatMap((s) => s.outcome?.replies.map((r) => r.status) ?? [])),
      copiesPerEnvelope: histogram(ok.map((s) => before.copies.get(s.letter.id) ?? 0)),
      envelopesPerHolder: dist(before.perHolder)
    },
    kill: {
      killed: p.kill,
      of: p.holders,
      // Each mailbox's r copies sit on r distinct holders; a random kill of K of N takes all r with probability C(K, r) / C(N, r).
      expectedMailboxesWithAllCopiesKilled: round((p.users * choose(p.kill, p.replicas)) / choose(p.holders, p.replicas), 3),
      mailboxesWithNoSurvivingCopy: users.filter((u) => [...expected.get(u.index)!].some((id) => !afterKill.copies.get(id))).length,
      copyRatioAfterKill: round([...acked].reduce((n, id) => n + (afterKill.copies.get(id) ?? 0), 0) / (acked.size * p.replicas), 4),
      survivingCopiesHistogram: histogram(survivors(acked))
    },
    baseline,
    phaseA: a,
    repair,
    phaseB,
    completeness,
    targets: { delivery: { target: DELIVERY_TARGET, measured: completeness, pass: completeness >= DELIVERY_TARGET } },
    storeFailures: notStored.slice(0, MAX_FAILURES_KEPT).map((s) => ({ user: s.letter.user, sender: s.letter.sender, seq: s.letter.seq, ms: round(s.ms), outcome: s.outcome, error: s.error }))
  }
}

type Result = Awaited<ReturnType<typeof run>>

function replyLine(replies: ReturnType<typeof takeReplies>): string {
  return Object.entries(replies)
    .map(([name, x]) => `${name} ${x.requests} (p95 ${x.ms.p95} ms${Object.keys(x.outcomes).some((o) => o !== 'OK') ? ` ${JSON.stringify(x.outcomes)}` : ''})`)
    .join(', ')
}

function printSummary(r: Result): void {
  const pct = (x: number): string => `${(x * 100).toFixed(2)} %`
  const p = r.parameters
  const phase = (name: string, s: Result['phaseA'] | null) =>
    s
      ? [
          `  ${name.padEnd(15)}${pct(s.completeness)} delivered (${s.delivered}/${s.expected}), ${s.usersComplete}/${s.users} users complete, ${s.envelopesWithNoSurvivingCopy} had no surviving copy, ${s.unexpected + s.invalid} bad`,
          `                 fetch ms p50 ${s.latencyMs.fetch.p50}, p95 ${s.latencyMs.fetch.p95}, max ${s.latencyMs.fetch.max}; ` + (s.latencyMs.fetchAndDelete ? `fetch+delete p50 ${s.latencyMs.fetchAndDelete.p50}, p95 ${s.latencyMs.fetchAndDelete.p95}` : '(no delete)') +
            `\n                 routing queries on the shared client nodes ms p50 ${s.sharedClientNodes.routingQueryMs.p50}, p95 ${s.sharedClientNodes.routingQueryMs.p95}; requests ${s.sharedClientNodes.requests.total}, timed out ${s.sharedClientNodes.requests.timeouts}` +
            `\n                 holder replies ${replyLine(s.sharedClientNodes.replies)}` +
            (s.latencyMs.cold ? `\n                 cold (${s.latencyMs.cold.users} users) bootstrap+fetch p50 ${s.latencyMs.cold.bootstrapAndFetch.p50}, p95 ${s.latencyMs.cold.bootstrapAndFetch.p95}` : '')
        ].join('\n')
      : ''
  const lines = [
    '',
    `mailbox benchmark — ${p.holders} holders (+${p.bootstrapNodes} plain), ${p.users} users × ${p.perUser} = ${p.envelopes} envelopes, r = ${p.replicas}, ${p.kill} holders killed`,
    `  machine        ${r.machine.cpus} CPUs, node ${r.machine.node}`,
    `  store          ${r.store.stored}/${r.store.envelopes} stored in ${r.timings.storeSeconds} s = ${r.store.storedPerSecond}/s; latency ms p50 ${r.store.latencyMs.p50}, p95 ${r.store.latencyMs.p95}; acks ${JSON.stringify(r.store.acks)}` +
      (r.store.notStored ? `; not stored ${JSON.stringify(r.store.notStoredCodes)}` : ''),
    `                 holder replies ${replyLine(r.store.senderNodes.replies)}`,
    `                 routing queries on the sender nodes ms p50 ${r.store.senderNodes.routingQueryMs.p50}, p95 ${r.store.senderNodes.routingQueryMs.p95}; requests ${r.store.senderNodes.requests.total}, timed out ${r.store.senderNodes.requests.timeouts}`,
    `  after kill     copies ${pct(r.kill.copyRatioAfterKill ?? 0)} of r×stored; surviving copies per envelope ${JSON.stringify(r.kill.survivingCopiesHistogram)}`,
    phase('baseline', r.baseline),
    phase('phase A (kill)', r.phaseA),
    r.repair
      ? `  repair         ${r.repair.seconds} s on ${r.repair.holders} holders: pushed ${r.repair.pushed}, pulled ${r.repair.pulled}, dropped ${r.repair.dropped}; group B copies ${pct(r.repair.groupB.copyRatioBefore ?? 0)} → ${pct(r.repair.groupB.copyRatioAfter ?? 0)}`
      : '',
    phase('phase B (repair)', r.phaseB),
    `  delivery       ${pct(r.completeness)}   target ${pct(DELIVERY_TARGET)}: ${r.targets.delivery.pass ? 'PASS' : 'FAIL'}`,
    ''
  ]
  log(lines.filter((l) => l !== '').join('\n'))
}

async function teardown(res: Resources): Promise<void> {
  log('tearing down…')
  for (const n of res.clients) await n.destroy().catch(() => {})
  for (const h of res.holders) await h.close().catch((err: Error) => log(`  holder close failed: ${err.message}`))
  await res.testnet?.destroy().catch((err: Error) => log(`  testnet destroy failed: ${err.message}`))
  await Promise.all(res.dirs.map((d) => rm(d, { recursive: true, force: true })))
}

async function main(): Promise<void> {
  let params: Params
  try {
    params = parseFlags(process.argv.slice(2))
  } catch (err) {
    log(`mailbox: ${(err as Error).message}`)
    process.exit(2)
  }
  const res: Resources = { testnet: null, holders: [], dirs: [], clients: [] }
  let code = 0
  try {
    const result = await run(params, res)
    printSummary(result)
    await mkdir(RESULTS_DIR, { recursive: true })
    const file = join(RESULTS_DIR, 'mailbox-latest.json')
    await writeFile(file, JSON.stringify(result, null, 2) + '\n')
    log(`results written to ${file}`)
  } catch (err) {
    log(`mailbox benchmark failed: ${(err as Error).stack ?? err}`)
    code = 1
  }
  await teardown(res).catch((err: Error) => log(`teardown failed: ${err.message}`))
  process.exit(code)
}

await main()
