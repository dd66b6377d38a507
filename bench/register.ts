/**
 * REGISTER load benchmark: sipp drives REGISTER with digest authentication
 * (REGISTER → 401 → REGISTER with credentials → 200) at stepped rates against
 * Kamailio (bench/kamailio/registrar.cfg, started here) and, in the same run,
 * against an optional registrar under test (--target), until retransmissions
 * or failures appear. Records the highest clean rate of each and the ratio
 * target / Kamailio.
 *
 *   npm run bench:register                          # Kamailio alone
 *   npm run bench:register -- --target 127.0.0.1:5060 --domain parley.test
 *
 * Human summary on stderr; JSON in bench/results/register-<date>.json and
 * register-latest.json. See bench/register.md.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startParley } from './parley-under-test.js'
import {
  SCENARIOS,
  describeSipp,
  freePort,
  hostPort,
  parseHostPort,
  runSipp,
  startKamailio,
  type Account,
  type HostPort,
  type KamailioInstance,
  type SippStats
} from '../test/interop/tools.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')
/** A step whose achieved rate is below this fraction of the requested one is not clean (the load generator fell behind). */
const MIN_ACHIEVED_FRACTION = 0.9

// ── parameters ───────────────────────────────────────────────────────────────

interface Params {
  target: string | null
  parley: boolean
  domain: string | null
  startRate: number
  step: number
  maxRate: number
  durationS: number
  users: number
  password: string
  userPrefix: string
  retries: number
  kamailioChildren: number
  warmupRate: number
}

const USAGE = `usage: bench/register.ts [--parley] [--target HOST:PORT] [--domain D] [--start-rate R] [--step S] [--max-rate M]
                         [--duration-s T] [--users U] [--password P] [--user-prefix X] [--retries N]
                         [--kamailio-children C] [--warmup-rate W]`

class UsageError extends Error {}

const INT_FLAGS = {
  'start-rate': { default: 1000, min: 1 },
  step: { default: 1000, min: 1 },
  'max-rate': { default: 30000, min: 1 },
  'duration-s': { default: 5, min: 1 },
  users: { default: 1000, min: 1 },
  retries: { default: 1, min: 0 },
  'kamailio-children': { default: 2, min: 1 },
  'warmup-rate': { default: 1000, min: 1 }
} as const

function parseFlags(argv: string[]): Params {
  const str = { type: 'string' } as const
  const { values } = parseArgs({
    args: argv,
    options: {
      target: str,
      parley: { type: 'boolean' },
      domain: str,
      password: str,
      'user-prefix': str,
      ...Object.fromEntries(Object.keys(INT_FLAGS).map((k) => [k, str])),
      help: { type: 'boolean' }
    },
    strict: true,
    allowPositionals: false
  })
  if (values.help) {
    process.stderr.write(USAGE + '\n')
    process.exit(0)
  }
  const v = values as Record<string, string | undefined>
  const int = (name: keyof typeof INT_FLAGS): number => {
    const raw = v[name]
    if (raw === undefined) return INT_FLAGS[name].default
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(n) || n < INT_FLAGS[name].min) {
      throw new UsageError(`--${name} must be an integer ≥ ${INT_FLAGS[name].min}, got ${JSON.stringify(raw)}`)
    }
    return n
  }
  if (v.target !== undefined) {
    try {
      parseHostPort(v.target)
    } catch (err) {
      throw new UsageError(`--target: ${(err as Error).message}`)
    }
  }
  const token = /^[A-Za-z0-9._~!$&'()*+,=-]+$/
  const password = v.password ?? 'parley-bench'
  const userPrefix = v['user-prefix'] ?? 'bench'
  if (!token.test(password)) throw new UsageError('--password: letters, digits and ._~!$&\'()*+,=- only')
  if (!token.test(userPrefix)) throw new UsageError('--user-prefix: letters, digits and ._~!$&\'()*+,=- only')
  if (v.domain !== undefined && !/^[A-Za-z0-9.:-]+$/.test(v.domain)) throw new UsageError('--domain: a host or host:port')
  const p: Params = {
    target: v.target ?? null,
    parley: values.parley === true,
    domain: v.domain ?? (values.parley ? 'parley.bench' : null),
    startRate: int('start-rate'),
    step: int('step'),
    maxRate: int('max-rate'),
    durationS: int('duration-s'),
    users: int('users'),
    password,
    userPrefix,
    retries: int('retries'),
    kamailioChildren: int('kamailio-children'),
    warmupRate: int('warmup-rate')
  }
  if (p.maxRate < p.startRate) throw new UsageError('--max-rate must be ≥ --start-rate')
  return p
}

// ── measuring ────────────────────────────────────────────────────────────────

interface Registrar {
  name: 'kamailio' | 'target'
  address: HostPort
  domain: string
}

interface Attempt {
  clean: boolean
  reason: string | null
  requestedRate: number
  achievedRate: number
  calls: number
  successful: number
  failed: number
  retransmissions: number
  /** Mean time from the first REGISTER to the 200 (both transactions), ms. */
  registrationTimeMs: number
  registrationTimeStdevMs: number
  responseTimeHistogramMs: Record<string, number>
  perMessage: SippStats['messages']
  elapsedS: number
  wallS: number
  sippExit: number | null
  /** Kernel UDP receive-buffer drops during the step (all sockets on the machine). */
  udpRcvbufErrors: number | null
  loadAvg1: number
  errorsExcerpt?: string
}

interface RegistrarResult {
  name: string
  address: string
  domain: string
  /** Highest requested rate (registrations/s) whose step was clean; null if the first step was not. */
  highestCleanRate: number | null
  /** The same, in REGISTER requests/s (each registration is two REGISTERs: challenged and authenticated). */
  highestCleanRegisterRequestsPerS: number | null
  /** Requested rate of the first step that stayed dirty after retries (null if max-rate was reached clean). */
  firstDirtyRate: number | null
  stoppedBecause: string
  warmup: Attempt | null
  steps: Array<{ rate: number; clean: boolean; attempts: Attempt[] }>
}

function udpRcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n')
    const i = lines.findIndex((l) => l.startsWith('Udp: InDatagrams'))
    if (i < 0) return null
    const head = lines[i]!.split(/\s+/)
    const vals = lines[i + 1]!.split(/\s+/)
    return Number(vals[head.indexOf('RcvbufErrors')])
  } catch {
    return null
  }
}

async function measure(reg: Registrar, accounts: Account[], rate: number, durationS: number): Promise<Attempt> {
  const calls = rate * durationS
  const drops0 = udpRcvbufErrors()
  const t0 = performance.now()
  let s: SippStats
  try {
    s = await runSipp({
      scenario: SCENARIOS.registerAuth,
      target: reg.address,
      domain: reg.domain,
      accounts,
      calls,
      rate,
      expires: 3600,
      // a hung step must not hang the benchmark: generous bound, then SIGKILL
      timeoutMs: durationS * 1000 * 4 + 60_000
    })
  } catch (err) {
    const stats = (err as { stats?: SippStats }).stats
    if (!stats) throw err
    s = stats
  }
  const wallS = (performance.now() - t0) / 1000
  const drops1 = udpRcvbufErrors()
  const achieved = s.callRate
  let reason: string | null = null
  if (s.exitCode !== 0) reason = `sipp exit ${s.exitCode ?? s.signal}`
  if (s.failedCalls > 0) reason = `${s.failedCalls} failed`
  if (s.successfulCalls !== calls) reason ??= `${s.successfulCalls}/${calls} successful`
  if (s.retransmissions > 0) reason = `${s.retransmissions} retransmissions${reason ? `, ${reason}` : ''}`
  if (!reason && achieved < rate * MIN_ACHIEVED_FRACTION) reason = `achieved ${achieved.toFixed(0)}/s < ${MIN_ACHIEVED_FRACTION * 100} % of requested`
  const a: Attempt = {
    clean: reason === null,
    reason,
    requestedRate: rate,
    achievedRate: Math.round(achieved * 10) / 10,
    calls,
    successful: s.successfulCalls,
    failed: s.failedCalls,
    retransmissions: s.retransmissions,
    registrationTimeMs: s.responseTimeMs,
    registrationTimeStdevMs: s.responseTimeStdevMs,
    responseTimeHistogramMs: s.responseTimeHistogram,
    perMessage: s.messages,
    elapsedS: s.elapsedS,
    wallS: Math.round(wallS * 100) / 100,
    sippExit: s.exitCode,
    udpRcvbufErrors: drops0 !== null && drops1 !== null ? drops1 - drops0 : null,
    loadAvg1: Math.round(os.loadavg()[0]! * 100) / 100
  }
  if (!a.clean && (s.failedCalls > 0 || s.exitCode !== 0)) a.errorsExcerpt = describeSipp(s).slice(0, 2000)
  return a
}

const log = (msg: string): void => {
  process.stderr.write(msg + '\n')
}

function fmtAttempt(name: string, a: Attempt): string {
  return (
    `  ${name.padEnd(8)} ${String(a.requestedRate).padStart(6)}/s → ${a.achievedRate.toFixed(0).padStart(6)}/s  ` +
    `ok ${a.successful}/${a.calls}  retrans ${a.retransmissions}  rt ${a.registrationTimeMs.toFixed(1)} ms  ` +
    `udp drops ${a.udpRcvbufErrors ?? '?'}  load ${a.loadAvg1}  ${a.clean ? 'clean' : `DIRTY (${a.reason})`}`
  )
}

async function ramp(regs: Registrar[], accounts: Account[], p: Params): Promise<RegistrarResult[]> {
  const results: RegistrarResult[] = regs.map((r) => ({
    name: r.name,
    address: hostPort(r.address),
    domain: r.domain,
    highestCleanRate: null,
    highestCleanRegisterRequestsPerS: null,
    firstDirtyRate: null,
    stoppedBecause: `reached --max-rate ${p.maxRate}`,
    warmup: null,
    steps: []
  }))
  // Warm-up: every user registered once, so that the ramp measures refreshes of existing bindings.
  for (const [i, reg] of regs.entries()) {
    const rate = Math.min(p.warmupRate, p.users)
    const w = await measure(reg, accounts, rate, Math.max(1, Math.ceil(p.users / rate)))
    results[i]!.warmup = w
    log(fmtAttempt(`${reg.name}*`, w) + '  (warm-up)')
    if (w.failed > 0 || w.successful === 0) throw new Error(`warm-up against ${reg.name} failed: ${w.reason}\n${w.errorsExcerpt ?? ''}`)
  }
  const active = new Set(regs.map((_, i) => i))
  // Steps are interleaved across registrars so that background load affects both alike.
  for (let rate = p.startRate; rate <= p.maxRate && active.size > 0; rate += p.step) {
    for (const i of [...active]) {
      const reg = regs[i]!
      const res = results[i]!
      const attempts: Attempt[] = []
      for (let k = 0; k <= p.retries; k++) {
        const a = await measure(reg, accounts, rate, p.durationS)
        attempts.push(a)
        log(fmtAttempt(reg.name, a) + (k > 0 ? `  (retry ${k})` : ''))
        if (a.clean) break
      }
      const clean = attempts.some((a) => a.clean)
      res.steps.push({ rate, clean, attempts })
      if (clean) {
        res.highestCleanRate = rate
        res.highestCleanRegisterRequestsPerS = rate * 2
      } else {
        res.firstDirtyRate = rate
        res.stoppedBecause = attempts[attempts.length - 1]!.reason ?? 'dirty'
        active.delete(i)
      }
    }
  }
  return results
}

// ── machine info ─────────────────────────────────────────────────────────────

function toolVersion(cmd: string, args: string[], re: RegExp): string | null {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 })
    return re.exec(out)?.[1] ?? out.trim().split('\n')[0] ?? null
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '')
    return re.exec(out)?.[1] ?? null
  }
}

function machine(): Record<string, unknown> {
  return {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    totalMemBytes: os.totalmem(),
    node: process.version,
    sipp: toolVersion('sipp', ['-v'], /SIPp (v[\w.-]*\w)/),
    kamailio: toolVersion('kamailio', ['-v'], /version: kamailio ([\d.]+)/),
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    udpRmemMax: (() => {
      try {
        return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'))
      } catch {
        return null
      }
    })()
  }
}

// ── main ─────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  let p: Params
  try {
    p = parseFlags(process.argv.slice(2))
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
      process.exit(2)
    }
    throw err
  }

  const accounts: Account[] = Array.from({ length: p.users }, (_, i) => ({ user: `${p.userPrefix}${i}`, password: p.password }))
  const date = new Date()
  const m = machine()
  log(`REGISTER benchmark: ${p.users} users, rates ${p.startRate}..${p.maxRate} step ${p.step}, ${p.durationS} s per step, ${p.retries} retr${p.retries === 1 ? 'y' : 'ies'} on a dirty step`)
  log(`  machine ${m.cpus} CPUs, ${m.cpuModel}, load ${JSON.stringify(m.loadAvgAtStart)}, sipp ${m.sipp}, kamailio ${m.kamailio}`)

  let kam: KamailioInstance | null = null
  let parley: { address: HostPort; stop(): Promise<void> } | null = null
  const onSignal = (): void => {
    void Promise.allSettled([kam?.stop(), parley?.stop()]).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    kam = await startKamailio({ accounts, children: p.kamailioChildren })
    log(`  kamailio on ${hostPort(kam.address)} (${p.kamailioChildren} UDP workers)`)
    const regs: Registrar[] = [{ name: 'kamailio', address: kam.address, domain: p.domain ?? hostPort(kam.address) }]
    if (p.parley) {
      parley = await startParley({ accounts, domain: p.domain ?? 'parley.bench', port: await freePort({ tcp: false }) })
      log(`  parley serve on ${hostPort(parley.address)}`)
      regs.push({ name: 'target', address: parley.address, domain: p.domain ?? 'parley.bench' })
    } else if (p.target) {
      const t = parseHostPort(p.target)
      regs.push({ name: 'target', address: t, domain: p.domain ?? hostPort(t) })
    }
    const results = await ramp(regs, accounts, p)
    const kr = results.find((r) => r.name === 'kamailio')!
    const tr = results.find((r) => r.name === 'target') ?? null
    const ratio =
      tr && tr.highestCleanRate !== null && kr.highestCleanRate ? Math.round((tr.highestCleanRate / kr.highestCleanRate) * 1000) / 1000 : null
    const out = {
      benchmark: 'register',
      date: date.toISOString(),
      machine: m,
      parameters: { ...p, password: '(set)' },
      method: {
        scenario: 'test/interop/scenarios/register-auth.xml',
        unit: 'registrations/s; one registration = REGISTER → 401 → REGISTER(Authorization) → 200',
        clean: `0 retransmissions, 0 failed, all calls successful, achieved rate ≥ ${MIN_ACHIEVED_FRACTION * 100} % of requested`,
        sipp: 'one sipp per step, UDP single socket (-t u1), -buff_size 4 MiB',
        kamailio: { cfg: 'bench/kamailio/registrar.cfg', children: p.kamailioChildren, auth: 'pv_www_authenticate, plaintext passwords in htable', usrloc: 'db_mode 0 (memory)' }
      },
      results,
      summary: {
        kamailioHighestCleanRate: kr.highestCleanRate,
        targetHighestCleanRate: tr?.highestCleanRate ?? null,
        ratioTargetOverKamailio: ratio
      }
    }
    await mkdir(RESULTS_DIR, { recursive: true })
    const stamp = date.toISOString().replace(/[:]/g, '').replace(/\..*$/, '').replace('T', '-')
    const file = join(RESULTS_DIR, `register-${stamp}.json`)
    const json = JSON.stringify(out, null, 2) + '\n'
    await writeFile(file, json)
    await writeFile(join(RESULTS_DIR, 'register-latest.json'), json)
    log('')
    for (const r of results) {
      log(`  ${r.name.padEnd(8)} highest clean rate ${r.highestCleanRate ?? 'none'} registrations/s (${r.highestCleanRegisterRequestsPerS ?? '-'} REGISTER/s); stopped: ${r.stoppedBecause}`)
    }
    if (tr) log(`  ratio target/kamailio ${ratio ?? 'n/a'}`)
    log(`  wrote ${file}`)
  } finally {
    await parley?.stop()
    await kam?.stop()
  }
}

await main()
