/**
 * Real-tool helpers for interop tests and the REGISTER benchmark:
 *
 *  - free ports on 127.0.0.1 (UDP + TCP),
 *  - `runSipp` / `startSipp`: run a sipp scenario and parse its statistics,
 *  - `startKamailio`: a Kamailio registrar + record-routing proxy
 *    (bench/kamailio/registrar.cfg) with generated digest accounts,
 *  - `startBaresip`: a headless baresip UA (no audio device) driven through
 *    its ctrl_tcp JSON interface,
 *  - `sipOptionsPing`: a one-shot OPTIONS probe used to wait for a server.
 *
 * Everything binds to 127.0.0.1 and uses ports chosen at run time. Each
 * started process has a `stop()`; they are also killed if the test process
 * exits without stopping them.
 *
 * Needs the Debian packages in .ci/apt-packages (sip-tester, kamailio,
 * baresip-core).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
export const LOCALHOST = '127.0.0.1'

/** sipp scenarios shipped with the interop tests. */
export const SCENARIOS = {
  /** REGISTER → 401 → REGISTER with digest → 200; one account per call from `accounts`. */
  registerAuth: join(HERE, 'scenarios', 'register-auth.xml'),
  /** OPTIONS to the server itself → 200. */
  options: join(HERE, 'scenarios', 'options.xml'),
  /** MESSAGE to `service`@`domain` → 200/202. Needs `from`. */
  message: join(HERE, 'scenarios', 'message.xml'),
  /** Server: answers each MESSAGE with 200. */
  messageUas: join(HERE, 'scenarios', 'message-uas.xml'),
  /** Caller: INVITE/1xx/200/ACK/pause/BYE/200, follows Record-Route. Needs `from`. */
  uacCall: join(HERE, 'scenarios', 'uac-call.xml'),
  /** Callee: INVITE → 180 → 200 (SDP), ACK, BYE → 200. */
  uasCall: join(HERE, 'scenarios', 'uas-call.xml')
} as const

/** The Kamailio config used as the reference registrar/proxy. */
export const KAMAILIO_CFG = join(HERE, '..', '..', 'bench', 'kamailio', 'registrar.cfg')

export interface HostPort {
  host: string
  port: number
}

export interface Account {
  user: string
  password: string
}

export const hostPort = (hp: HostPort): string => `${hp.host}:${hp.port}`

/** Parses "HOST:PORT" (IPv4 or name; no IPv6 brackets). */
export function parseHostPort(s: string): HostPort {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(s)
  const port = m ? Number(m[2]) : NaN
  if (!m || port < 1 || port > 65535) throw new Error(`expected HOST:PORT, got ${JSON.stringify(s)}`)
  return { host: m[1]!, port }
}

// ── processes ────────────────────────────────────────────────────────────────

/** Children still running; killed (whole process group) if node exits first. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false

function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => {
      for (const c of live) killGroup(c, 'SIGKILL')
    })
  }
}

/** Signals the child's process group (children are spawned detached = own group). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      /* already gone */
    }
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** Sends `signal`, then SIGKILL to the group after `graceMs`; resolves when the main process is gone. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  const done = exited(child)
  killGroup(child, signal)
  let timer: NodeJS.Timeout | undefined
  const escalated = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      killGroup(child, 'SIGKILL')
      resolve()
    }, graceMs)
  })
  await Promise.race([done, escalated])
  clearTimeout(timer)
  await done
  // kamailio's main process waits for its children, but make sure no stray
  // member of the group survives a SIGKILL of the parent.
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      /* group empty */
    }
  }
}

/** Keeps the last `max` characters of a stream. */
class Tail {
  text = ''
  constructor(private readonly max = 64 * 1024) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString()
    if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max)
  }
  toString(): string {
    return this.text.slice(-this.max)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function makeWorkDir(prefix: string, dir?: string): Promise<{ dir: string; owned: boolean }> {
  if (dir) return { dir, owned: false }
  return { dir: await mkdtemp(join(os.tmpdir(), `parley-${prefix}-`)), owned: true }
}

// ── ports ────────────────────────────────────────────────────────────────────

const handedOut = new Set<number>()
/** Below Linux's default ephemeral range (32768–60999), so the kernel never hands these out on its own. */
const PORT_MIN = 20000
const PORT_MAX = 32000

function canBindUdp(port: number, host = LOCALHOST): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    s.once('error', () => {
      try {
        s.close()
      } catch {
        /* never bound */
      }
      resolve(false)
    })
    s.bind({ port, address: host, exclusive: true }, () => s.close(() => resolve(true)))
  })
}

function canBindTcp(port: number, host = LOCALHOST): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)))
  })
}

export interface FreePortOptions {
  /** Also require TCP to be free on the port(s). Default true. */
  tcp?: boolean
  /** Require `span` consecutive ports free (returns the first). Default 1. */
  span?: number
}

/**
 * A port on 127.0.0.1 that is free for UDP (and TCP unless tcp:false) right
 * now and was not handed out before by this process. There is an unavoidable
 * race with other processes between this check and the real bind.
 */
export async function freePort(opts: FreePortOptions = {}): Promise<number> {
  const span = opts.span ?? 1
  const tcp = opts.tcp ?? true
  for (let attempt = 0; attempt < 500; attempt++) {
    const base = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN - span))
    let ok = true
    for (let p = base; p < base + span && ok; p++) {
      ok = !handedOut.has(p) && (await canBindUdp(p)) && (!tcp || (await canBindTcp(p)))
    }
    if (ok) {
      for (let p = base; p < base + span; p++) handedOut.add(p)
      return base
    }
  }
  throw new Error('no free port found on 127.0.0.1')
}

/** `n` distinct free ports (see freePort). */
export async function freePorts(n: number, opts: FreePortOptions = {}): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await freePort(opts))
  return out
}

/** Resolves once something is bound to UDP `port` on 127.0.0.1 (our own bind fails). */
async function waitUdpBound(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error('process exited before binding')
    if (!(await canBindUdp(port))) return
    await sleep(20)
  }
  throw new Error(`nothing bound UDP ${LOCALHOST}:${port} within ${timeoutMs} ms`)
}

// ── SIP OPTIONS probe ────────────────────────────────────────────────────────

/**
 * Sends one OPTIONS to `target` (Request-URI sip:HOST:PORT) every `intervalMs`
 * until a final response arrives or `timeoutMs` passes. Resolves with the
 * status code (null on timeout).
 */
export async function sipOptionsPing(target: HostPort, timeoutMs = 2000, intervalMs = 100): Promise<number | null> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => sock.bind(0, LOCALHOST, () => resolve()))
  const local = sock.address()
  const callId = `${randomBytes(8).toString('hex')}@parley-ping`
  const tag = randomBytes(4).toString('hex')
  let cseq = 0
  const send = (): void => {
    cseq++
    const branch = `z9hG4bK${randomBytes(8).toString('hex')}`
    const msg =
      `OPTIONS sip:${target.host}:${target.port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=${branch};rport\r\n` +
      `Max-Forwards: 70\r\n` +
      `From: <sip:ping@${local.address}:${local.port}>;tag=${tag}\r\n` +
      `To: <sip:${target.host}:${target.port}>\r\n` +
      `Call-ID: ${callId}\r\n` +
      `CSeq: ${cseq} OPTIONS\r\n` +
      `Content-Length: 0\r\n\r\n`
    sock.send(msg, target.port, target.host)
  }
  try {
    return await new Promise<number | null>((resolve) => {
      const timer = setInterval(send, intervalMs)
      const deadline = setTimeout(() => {
        clearInterval(timer)
        resolve(null)
      }, timeoutMs)
      sock.on('message', (buf) => {
        const text = buf.toString('latin1')
        const m = /^SIP\/2\.0 (\d{3})/.exec(text)
        if (!m || !text.includes(callId)) return
        const code = Number(m[1])
        if (code < 200) return
        clearInterval(timer)
        clearTimeout(deadline)
        resolve(code)
      })
      send()
    })
  } finally {
    sock.close()
  }
}

/** Polls with OPTIONS until `target` answers with any final response; throws after `timeoutMs`. */
export async function waitForSipServer(target: HostPort, timeoutMs = 10_000, child?: ChildProcess): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before answering OPTIONS`)
    }
    const code = await sipOptionsPing(target, Math.min(1000, Math.max(100, deadline - Date.now())))
    if (code !== null) return code
  }
  throw new Error(`${hostPort(target)} did not answer OPTIONS within ${timeoutMs} ms`)
}

// ── sipp ─────────────────────────────────────────────────────────────────────

export interface SippOptions {
  /** Scenario XML path (see SCENARIOS). */
  scenario: string
  /** Remote SIP server; omit for a pure server (UAS) scenario. */
  target?: HostPort
  /** -p: local SIP port; default a free port. */
  localPort?: number
  /** -m: stop after this many calls. Default 1. */
  calls?: number
  /** -r: calls per second (per `ratePeriodMs`). Default 10. */
  rate?: number
  /** -rp in ms. Default 1000. */
  ratePeriodMs?: number
  /** -l: max simultaneous calls. */
  maxConcurrent?: number
  /**
   * Accounts injected one per call (SEQUENTIAL, wrapping) as an -inf CSV:
   * field0 = user, field1 = "[authentication username=U password=P]".
   */
  accounts?: Account[]
  /** -s: Request-URI user ([service]). */
  service?: string
  /** -key from: caller user (message/uac-call). */
  from?: string
  /** -key domain (AOR domain) and -auth_uri; default the target's HOST:PORT. */
  domain?: string
  /** -key expires for register-auth. Default 3600. */
  expires?: number
  /** -d: pause length in ms (uac-call: time between ACK and BYE). */
  holdMs?: number
  /** Extra -key NAME VALUE pairs. */
  keys?: Record<string, string>
  /**
   * -default_behaviors. Default "all,-bye" (no BYE for aborted calls, which is
   * noise for non-INVITE scenarios); use "all" for call scenarios if wanted.
   */
  defaultBehaviors?: string
  /** -buff_size for the SIP socket. Default 4 MiB (sipp's own default drops packets at a few k msg/s). */
  bufferSize?: number
  /** -recv_timeout in ms: a call waiting longer for a message fails. */
  recvTimeoutMs?: number
  /** Kill sipp (SIGKILL) after this long; the run then rejects. Default 60 s. */
  timeoutMs?: number
  /** -trace_msg: keep the full message log in the result. */
  traceMessages?: boolean
  /** Extra raw sipp arguments, inserted before the remote address. */
  extraArgs?: string[]
  /** Directory for sipp's files (default: a fresh temp dir, removed after parsing unless keepFiles). */
  workDir?: string
  keepFiles?: boolean
}

export interface SippMessageCount {
  /** Scenario index and label, e.g. "0_REGISTER", "2_401". */
  name: string
  /** Sent or Recv count (whichever the step is). */
  count: number
  retrans: number
  timeout: number
  unexpected: number
}

export interface SippStats {
  /** sipp's exit code: 0 all calls succeeded, 1 some failed, 97 internal exit, 99 no call processed, 255/254 fatal. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  totalCalls: number
  outgoingCalls: number
  incomingCalls: number
  successfulCalls: number
  failedCalls: number
  retransmissions: number
  failedMaxUdpRetrans: number
  failedUnexpectedMessage: number
  failedCallRejected: number
  failedTimeoutOnRecv: number
  failedCannotSendMessage: number
  outOfCallMsgs: number
  deadCallMsgs: number
  watchdogMajor: number
  watchdogMinor: number
  /** Seconds from sipp's start to its last statistics dump. */
  elapsedS: number
  /** Cumulative calls per second as sipp measured it. */
  callRate: number
  targetRate: number
  /** Mean/stdev of response time 1 (ms) for scenarios with rtd="true". */
  responseTimeMs: number
  responseTimeStdevMs: number
  /** Mean call length (ms). */
  callLengthMs: number
  /** Response-time repartition, "<N" / ">=N" (ms) → count. */
  responseTimeHistogram: Record<string, number>
  /** Per scenario step counts (from -trace_counts). */
  messages: SippMessageCount[]
  /** Local SIP port sipp used. */
  localPort: number
  /** The command line that was run. */
  argv: string[]
  /** Tail of the unexpected-message log (-trace_err), '' if none. */
  errors: string
  /** Final statistics screens (-trace_screen). */
  screen: string
  /** Full message log when traceMessages was set. */
  messageLog: string
  stdout: string
  stderr: string
}

/** Convert sipp "HH:MM:SS" / "HH:MM:SS:uuuuuu" to ms. */
export function sippDurationMs(s: string | undefined): number {
  if (!s) return 0
  const parts = s.split(':').map(Number)
  if (parts.some((n) => !Number.isFinite(n))) return 0
  const [h = 0, m = 0, sec = 0, us = 0] = parts
  return ((h * 60 + m) * 60 + sec) * 1000 + us / 1000
}

/** Parses the last line of a sipp -trace_stat CSV (';'-separated, header first). */
export function parseSippStatCsv(text: string): Record<string, string> {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const header = lines[0]?.split(';') ?? []
  const last = lines.length > 1 ? lines[lines.length - 1]!.split(';') : []
  const row: Record<string, string> = {}
  header.forEach((h, i) => (row[h] = last[i] ?? ''))
  return row
}

/** Parses the last line of a sipp -trace_counts CSV into per-step counts. */
export function parseSippCountsCsv(text: string): SippMessageCount[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const header = lines[0]?.split(';') ?? []
  const last = lines.length > 1 ? lines[lines.length - 1]!.split(';') : []
  const steps = new Map<string, SippMessageCount>()
  header.forEach((h, i) => {
    const m = /^(\d+_[^_]+)_(Sent|Recv|Retrans|Timeout|Unexp)$/.exec(h)
    if (!m) return
    const name = m[1]!
    const step = steps.get(name) ?? { name, count: 0, retrans: 0, timeout: 0, unexpected: 0 }
    const v = Number(last[i] ?? 0) || 0
    if (m[2] === 'Sent' || m[2] === 'Recv') step.count = v
    else if (m[2] === 'Retrans') step.retrans = v
    else if (m[2] === 'Timeout') step.timeout = v
    else step.unexpected = v
    steps.set(name, step)
  })
  return [...steps.values()].sort((a, b) => parseInt(a.name) - parseInt(b.name))
}

function statsFromCsv(row: Record<string, string>): Omit<
  SippStats,
  'exitCode' | 'signal' | 'messages' | 'localPort' | 'argv' | 'errors' | 'screen' | 'messageLog' | 'stdout' | 'stderr'
> {
  const n = (k: string): number => Number(row[k] ?? 0) || 0
  const hist: Record<string, number> = {}
  for (const [k, v] of Object.entries(row)) {
    const m = /^ResponseTimeRepartition1_(.+)$/.exec(k)
    if (m) hist[m[1]!] = Number(v) || 0
  }
  return {
    totalCalls: n('TotalCallCreated'),
    outgoingCalls: n('OutgoingCall(C)'),
    incomingCalls: n('IncomingCall(C)'),
    successfulCalls: n('SuccessfulCall(C)'),
    failedCalls: n('FailedCall(C)'),
    retransmissions: n('Retransmissions(C)'),
    failedMaxUdpRetrans: n('FailedMaxUDPRetrans(C)'),
    failedUnexpectedMessage: n('FailedUnexpectedMessage(C)'),
    failedCallRejected: n('FailedCallRejected(C)'),
    failedTimeoutOnRecv: n('FailedTimeoutOnRecv(C)'),
    failedCannotSendMessage: n('FailedCannotSendMessage(C)'),
    outOfCallMsgs: n('OutOfCallMsgs(C)'),
    deadCallMsgs: n('DeadCallMsgs(C)'),
    watchdogMajor: n('WatchdogMajor(C)'),
    watchdogMinor: n('WatchdogMinor(C)'),
    elapsedS: sippDurationMs(row['ElapsedTime(C)']) / 1000,
    callRate: n('CallRate(C)'),
    targetRate: n('TargetRate'),
    responseTimeMs: sippDurationMs(row['ResponseTime1(C)']),
    responseTimeStdevMs: sippDurationMs(row['ResponseTime1StDev(C)']),
    callLengthMs: sippDurationMs(row['CallLength(C)']),
    responseTimeHistogram: hist
  }
}

/** A sipp process started in the background (typically a UAS). */
export interface SippProcess {
  localPort: number
  /** Address other agents reach this sipp at. */
  address: HostPort
  argv: string[]
  /** Resolves when sipp exits (after -m calls, stop(), or the timeout), with its statistics. */
  result: Promise<SippStats>
  /** Soft exit (SIGUSR1: no new calls, finish current ones), then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<SippStats>
}

function accountsCsv(accounts: Account[]): string {
  const safe = /^[A-Za-z0-9._~!$&'()*+,=-]+$/
  const lines = accounts.map((a) => {
    if (!safe.test(a.user) || !safe.test(a.password)) throw new Error(`unsupported characters in account ${a.user}`)
    return `${a.user};[authentication username=${a.user} password=${a.password}]`
  })
  return `SEQUENTIAL\n${lines.join('\n')}\n`
}

/**
 * Starts sipp in the background and resolves once its SIP socket is bound.
 * Use for servers (uas-call, message-uas) that must be up before a client.
 */
export async function startSipp(opts: SippOptions): Promise<SippProcess> {
  const { dir, owned } = await makeWorkDir('sipp', opts.workDir)
  const localPort = opts.localPort ?? (await freePort({ tcp: false }))
  const [controlPort, mediaPort] = await freePorts(2, { tcp: false, span: 1 })
  const args: string[] = ['-sf', opts.scenario]
  if (opts.accounts?.length) {
    await writeFile(join(dir, 'accounts.csv'), accountsCsv(opts.accounts))
    args.push('-inf', join(dir, 'accounts.csv'))
  }
  const domain = opts.domain ?? (opts.target ? hostPort(opts.target) : `${LOCALHOST}:${localPort}`)
  const keys: Record<string, string> = { domain, expires: String(opts.expires ?? 3600), ...opts.keys }
  if (opts.from !== undefined) keys.from = opts.from
  for (const [k, v] of Object.entries(keys)) args.push('-key', k, v)
  if (opts.service !== undefined) args.push('-s', opts.service)
  args.push('-auth_uri', domain)
  args.push('-m', String(opts.calls ?? 1), '-r', String(opts.rate ?? 10))
  if (opts.ratePeriodMs !== undefined) args.push('-rp', `${opts.ratePeriodMs}ms`)
  if (opts.maxConcurrent !== undefined) args.push('-l', String(opts.maxConcurrent))
  if (opts.holdMs !== undefined) args.push('-d', String(opts.holdMs))
  if (opts.recvTimeoutMs !== undefined) args.push('-recv_timeout', String(opts.recvTimeoutMs))
  args.push(
    '-i', LOCALHOST,
    '-p', String(localPort),
    '-cp', String(controlPort),
    '-mi', LOCALHOST,
    '-mp', String(mediaPort),
    '-buff_size', String(opts.bufferSize ?? 4 * 1024 * 1024),
    '-default_behaviors', opts.defaultBehaviors ?? 'all,-bye',
    '-nostdin',
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_counts',
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-trace_screen', '-screen_file', join(dir, 'screen.log')
  )
  if (opts.traceMessages) args.push('-trace_msg', '-message_file', join(dir, 'messages.log'))
  if (opts.extraArgs) args.push(...opts.extraArgs)
  if (opts.target) args.push(hostPort(opts.target))

  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  track(child)
  const stdout = new Tail(16 * 1024)
  const stderr = new Tail(16 * 1024)
  child.stdout!.on('data', (d: Buffer) => stdout.push(d))
  child.stderr!.on('data', (d: Buffer) => stderr.push(d))
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject))
  spawnError.catch(() => {})

  const timeoutMs = opts.timeoutMs ?? 60_000
  let timedOut = false
  const killer = setTimeout(() => {
    timedOut = true
    killGroup(child, 'SIGKILL')
  }, timeoutMs)

  const result = (async (): Promise<SippStats> => {
    const { code, signal } = await Promise.race([exited(child), spawnError])
    clearTimeout(killer)
    const read = async (f: string): Promise<string> => readFile(join(dir, f), 'latin1').catch(() => '')
    const files = await readdir(dir).catch(() => [] as string[])
    const countsFile = files.find((f) => f.endsWith('_counts.csv'))
    const stats: SippStats = {
      exitCode: code,
      signal,
      ...statsFromCsv(parseSippStatCsv(await read('stat.csv'))),
      messages: countsFile ? parseSippCountsCsv(await read(countsFile)) : [],
      localPort,
      argv: ['sipp', ...args],
      errors: (await read('errors.log')).slice(-8000),
      screen: (await read('screen.log')).slice(-16000),
      messageLog: opts.traceMessages ? await read('messages.log') : '',
      stdout: stdout.toString(),
      stderr: stderr.toString()
    }
    if (owned && !opts.keepFiles) await rm(dir, { recursive: true, force: true })
    if (timedOut) {
      throw Object.assign(new Error(`sipp ${opts.scenario} did not finish within ${timeoutMs} ms\n${stats.screen.slice(-3000)}`), { stats })
    }
    return stats
  })()
  result.catch(() => {})

  try {
    await Promise.race([waitUdpBound(localPort, 5000, child), spawnError])
  } catch (err) {
    killGroup(child, 'SIGKILL')
    const stats = await result.catch(() => undefined)
    throw new Error(`sipp did not start: ${(err as Error).message}\n${stats?.stderr ?? ''}${stats?.stdout.slice(-2000) ?? ''}`, { cause: err })
  }

  return {
    localPort,
    address: { host: LOCALHOST, port: localPort },
    argv: ['sipp', ...args],
    result,
    async stop(graceMs = 3000) {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGUSR1 = soft exit: sipp stops placing calls and leaves once the current ones end
        await terminate(child, 'SIGUSR1', graceMs)
      }
      return result
    }
  }
}

/** Runs a sipp scenario to completion and returns its statistics (never throws on failed calls: check the stats). */
export async function runSipp(opts: SippOptions): Promise<SippStats> {
  const p = await startSipp(opts)
  return p.result
}

/** One-line summary of a sipp run for assertion messages. */
export function describeSipp(s: SippStats): string {
  const steps = s.messages.map((m) => `${m.name}=${m.count}${m.retrans ? `(+${m.retrans}r)` : ''}${m.timeout ? `(${m.timeout}t)` : ''}${m.unexpected ? `(${m.unexpected}u)` : ''}`)
  return (
    `exit=${s.exitCode ?? s.signal} calls=${s.totalCalls} ok=${s.successfulCalls} failed=${s.failedCalls} retrans=${s.retransmissions} ` +
    `rate=${s.callRate.toFixed(1)}/s rt=${s.responseTimeMs}ms [${steps.join(' ')}]` +
    (s.errors ? `\n--- errors ---\n${s.errors.slice(-3000)}` : '') +
    (s.exitCode !== 0 && s.stderr ? `\n--- stderr ---\n${s.stderr.slice(-2000)}` : '')
  )
}

// ── Kamailio ─────────────────────────────────────────────────────────────────

export interface KamailioOptions {
  /** Digest accounts (plain passwords, kept in an in-memory htable). */
  accounts: Account[]
  /** UDP port on 127.0.0.1; default a free port. */
  port?: number
  /** UDP worker processes (-n). Default 2 (this machine has 2 cores, shared with sipp). */
  children?: number
  /** Digest realm. Default "parley.test". */
  realm?: string
  /** Shared / per-process memory in MB. Defaults 256 / 16. */
  shmMb?: number
  pkgMb?: number
  /** Maximum UDP receive buffer Kamailio may probe up to (-b). Default 4 MiB. */
  maxRecvBuffer?: number
  /** Core log level (-A LOGLEVEL): 1 notice (default), 2 info, 3 debug. */
  logLevel?: number
  /** Config file; default bench/kamailio/registrar.cfg. */
  cfg?: string
  workDir?: string
  /** Ms to wait for the first OPTIONS answer. Default 10 s. */
  startTimeoutMs?: number
}

export interface KamailioInstance {
  address: HostPort
  pid: number
  workDir: string
  argv: string[]
  /** stderr/stdout so far (Kamailio logs to stderr with -E). */
  log(): string
  /** SIGTERM to Kamailio's process group, SIGKILL after 5 s; removes the work dir it created. */
  stop(): Promise<void>
}

/** kamailio.cfg statements that fill the `acct` htable at start-up. */
export function kamailioAccountsCfg(accounts: Account[]): string {
  const safe = /^[A-Za-z0-9._~!$&'()*+,=-]+$/
  const lines = accounts.map((a) => {
    if (!safe.test(a.user) || !safe.test(a.password)) throw new Error(`unsupported characters in account ${a.user}`)
    return `\t$sht(acct=>${a.user}) = "${a.password}";`
  })
  return `event_route[htable:mod-init] {\n${lines.join('\n')}\n}\n`
}

/**
 * Starts Kamailio as registrar + proxy on 127.0.0.1:`port` in the foreground
 * (-DD -E) with the given accounts, and resolves once it answers OPTIONS.
 */
export async function startKamailio(opts: KamailioOptions): Promise<KamailioInstance> {
  const { dir, owned } = await makeWorkDir('kamailio', opts.workDir)
  const port = opts.port ?? (await freePort({ tcp: false }))
  const cfg = join(dir, 'registrar.cfg')
  await copyFile(opts.cfg ?? KAMAILIO_CFG, cfg)
  await writeFile(join(dir, 'accounts.cfg'), kamailioAccountsCfg(opts.accounts))
  const realm = opts.realm ?? 'parley.test'
  if (!/^[A-Za-z0-9.-]+$/.test(realm)) throw new Error(`bad realm ${realm}`)
  const args = [
    '-f', cfg,
    '-DD', '-E',
    '-T', '-S',
    '-n', String(opts.children ?? 2),
    '-m', String(opts.shmMb ?? 256),
    '-M', String(opts.pkgMb ?? 16),
    '-b', String(opts.maxRecvBuffer ?? 4 * 1024 * 1024),
    '-Y', dir,
    '-P', join(dir, 'kamailio.pid'),
    '-w', dir,
    '-A', `SIP_PORT=${port}`,
    '-A', `REALM="${realm}"`,
    '-A', `LOGLEVEL=${opts.logLevel ?? 1}`
  ]
  const child = spawn('kamailio', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  track(child)
  const log = new Tail(256 * 1024)
  child.stdout!.on('data', (d: Buffer) => log.push(d))
  child.stderr!.on('data', (d: Buffer) => log.push(d))
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject))
  spawnError.catch(() => {})
  const address = { host: LOCALHOST, port }
  const stop = async (): Promise<void> => {
    await terminate(child, 'SIGTERM', 5000)
    if (owned) await rm(dir, { recursive: true, force: true })
  }
  try {
    await Promise.race([waitForSipServer(address, opts.startTimeoutMs ?? 10_000, child), spawnError])
  } catch (err) {
    await stop()
    throw new Error(`kamailio did not start: ${(err as Error).message}\n${log.toString().slice(-4000)}`, { cause: err })
  }
  return { address, pid: child.pid!, workDir: dir, argv: ['kamailio', ...args], log: () => log.toString(), stop }
}

// ── baresip ──────────────────────────────────────────────────────────────────

export interface BaresipOptions {
  /** Registers sip:USER@DOMAIN at `registrar` with digest auth. */
  account?: Account & {
    registrar: HostPort
    /** AOR domain; default the registrar's HOST:PORT. */
    domain?: string
    /** Register interval (s). Default 600. */
    regint?: number
    /** "auto" answers incoming calls. Default "auto". */
    answerMode?: 'manual' | 'auto'
  }
  sipPort?: number
  ctrlPort?: number
  workDir?: string
  /** Ms to wait for ctrl_tcp to accept a connection. Default 10 s. */
  startTimeoutMs?: number
}

export interface BaresipEvent {
  type: string
  class?: string
  accountaor?: string
  direction?: string
  peeruri?: string
  id?: string
  param?: string
  [k: string]: unknown
}

export interface BaresipResponse {
  ok: boolean
  data: string
  token?: string
}

export interface Baresip {
  /** Baresip's SIP address (UDP/TCP; TLS takes port+1). */
  address: HostPort
  ctrlPort: number
  workDir: string
  /** All ctrl_tcp events so far, in order. */
  events: BaresipEvent[]
  output(): string
  /** Sends a ctrl_tcp command (e.g. "dial", "hangup", "reginfo", "uanew") and resolves with the response. */
  command(command: string, params?: string, timeoutMs?: number): Promise<BaresipResponse>
  /** Resolves with the first event (already received or future) of `type` matching `match`. */
  waitForEvent(type: string | string[], opts?: { timeoutMs?: number; match?: (e: BaresipEvent) => boolean; after?: number }): Promise<BaresipEvent>
  /** Waits for REGISTER_OK (rejects on REGISTER_FAIL). */
  waitRegistered(timeoutMs?: number): Promise<BaresipEvent>
  /** Dials `uri`; resolves with the call id (from CALL_LOCAL_SDP/CALL_RINGING/ESTABLISHED) once the command is accepted. */
  dial(uri: string): Promise<void>
  hangup(): Promise<void>
  /** "quit" over ctrl_tcp (unregisters), SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>
}

/** A 16-bit mono PCM WAV of a 440 Hz tone: the audio source (no sound device needed). */
function toneWav(seconds: number, rate = 8000): Buffer {
  const n = seconds * rate
  const data = Buffer.alloc(n * 2)
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2)
  const h = Buffer.alloc(44)
  h.write('RIFF', 0)
  h.writeUInt32LE(36 + data.length, 4)
  h.write('WAVE', 8)
  h.write('fmt ', 12)
  h.writeUInt32LE(16, 16)
  h.writeUInt16LE(1, 20) // PCM
  h.writeUInt16LE(1, 22) // mono
  h.writeUInt32LE(rate, 24)
  h.writeUInt32LE(rate * 2, 28)
  h.writeUInt16LE(2, 32)
  h.writeUInt16LE(16, 34)
  h.write('data', 36)
  h.writeUInt32LE(data.length, 40)
  return Buffer.concat([h, data])
}

/**
 * Starts baresip headless: config dir generated in a temp dir, SIP on
 * 127.0.0.1, audio from a generated WAV (aufile) to a null sink (aubridge),
 * PCMU/PCMA only, controlled over ctrl_tcp (JSON in netstrings). The account
 * (if given) is added with "uanew" after the control connection is up, so the
 * REGISTER_OK/FAIL event is never missed.
 */
export async function startBaresip(opts: BaresipOptions = {}): Promise<Baresip> {
  const { dir, owned } = await makeWorkDir('baresip', opts.workDir)
  // SIP binds UDP+TCP on the port and TLS on port+1.
  const sipPort = opts.sipPort ?? (await freePort({ span: 2 }))
  const ctrlPort = opts.ctrlPort ?? (await freePort())
  const rtpBase = await freePort({ tcp: false, span: 20 })
  await writeFile(join(dir, 'tone.wav'), toneWav(10))
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t${LOCALHOST}:${sipPort}`,
    'call_local_timeout\t120',
    'call_max_calls\t\t4',
    'audio_player\t\taubridge,nil',
    'audio_alert\t\taubridge,nil',
    `audio_source\t\taufile,${join(dir, 'tone.wav')}`,
    `rtp_ports\t\t${rtpBase}-${rtpBase + 19}`,
    'rtcp_mux\t\tno',
    'rtp_stats\t\tno',
    // an interface *name* ('lo') fails here ("could not get IPv4 address"); an address works
    `net_interface\t\t${LOCALHOST}`,
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\taufile.so',
    'module\t\t\taubridge.so',
    'module_tmp\t\tuuid.so',
    'module_tmp\t\taccount.so',
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t${LOCALHOST}:${ctrlPort}`,
    ''
  ].join('\n')
  await writeFile(join(dir, 'config'), config)
  await writeFile(join(dir, 'accounts'), '')
  await writeFile(join(dir, 'contacts'), '')

  const child = spawn('baresip', ['-4', '-f', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  track(child)
  const out = new Tail(128 * 1024)
  child.stdout!.on('data', (d: Buffer) => out.push(d))
  child.stderr!.on('data', (d: Buffer) => out.push(d))
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject))
  spawnError.catch(() => {})

  const events: BaresipEvent[] = []
  const pending = new Map<string, (r: BaresipResponse) => void>()
  const waiters = new Set<() => void>()
  let sock: net.Socket | undefined
  let inbuf = Buffer.alloc(0)
  let tokenSeq = 0

  const onFrame = (json: string): void => {
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(json)
    } catch {
      return
    }
    if (msg.event) {
      events.push(msg as BaresipEvent)
      for (const w of [...waiters]) w()
    } else if (msg.response && typeof msg.token === 'string') {
      pending.get(msg.token)?.({ ok: Boolean(msg.ok), data: String(msg.data ?? ''), token: msg.token })
      pending.delete(msg.token)
    }
  }
  const onData = (d: Buffer): void => {
    inbuf = Buffer.concat([inbuf, d])
    // netstrings: LEN ":" DATA ","
    while (true) {
      const colon = inbuf.indexOf(0x3a)
      if (colon < 0) return
      const len = Number(inbuf.subarray(0, colon).toString())
      if (!Number.isInteger(len)) throw new Error(`baresip ctrl_tcp: bad netstring ${inbuf.subarray(0, 40).toString()}`)
      if (inbuf.length < colon + 1 + len + 1) return
      onFrame(inbuf.subarray(colon + 1, colon + 1 + len).toString())
      inbuf = inbuf.subarray(colon + 1 + len + 1)
    }
  }

  const stop = async (): Promise<void> => {
    if (sock && !sock.destroyed && child.exitCode === null) {
      await command('quit', '', 2000).catch(() => {})
      await Promise.race([exited(child), sleep(3000)])
    }
    sock?.destroy()
    await terminate(child, 'SIGTERM', 5000)
    if (owned) await rm(dir, { recursive: true, force: true })
  }

  const command = (cmd: string, params = '', timeoutMs = 5000): Promise<BaresipResponse> => {
    if (!sock || sock.destroyed) return Promise.reject(new Error('baresip ctrl_tcp not connected'))
    const token = `t${++tokenSeq}`
    const body = JSON.stringify({ command: cmd, params, token })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(token)
        reject(new Error(`baresip: no response to "${cmd}" within ${timeoutMs} ms`))
      }, timeoutMs)
      pending.set(token, (r) => {
        clearTimeout(timer)
        resolve(r)
      })
      sock!.write(`${Buffer.byteLength(body)}:${body},`)
    })
  }

  const waitForEvent: Baresip['waitForEvent'] = (type, o = {}) => {
    const types = Array.isArray(type) ? type : [type]
    const from = o.after ?? 0
    const find = (): BaresipEvent | undefined =>
      events.slice(from).find((e) => types.includes(e.type) && (!o.match || o.match(e)))
    const seen = find()
    if (seen) return Promise.resolve(seen)
    const timeoutMs = o.timeoutMs ?? 10_000
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const e = find()
        if (e) {
          cleanup()
          resolve(e)
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`baresip: no ${types.join('/')} event within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(',')}\n${out.toString().slice(-3000)}`))
      }, timeoutMs)
      const onExit = (): void => {
        cleanup()
        reject(new Error(`baresip exited before ${types.join('/')}\n${out.toString().slice(-3000)}`))
      }
      const cleanup = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
        child.off('exit', onExit)
      }
      waiters.add(check)
      child.once('exit', onExit)
    })
  }

  // connect to ctrl_tcp (baresip needs a moment to load modules)
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000)
  try {
    while (!sock) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`baresip exited (${child.exitCode ?? child.signalCode})`)
      if (Date.now() > deadline) throw new Error('ctrl_tcp did not accept a connection')
      await Promise.race([spawnError, sleep(0)])
      sock = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect(ctrlPort, LOCALHOST)
        s.once('connect', () => resolve(s))
        s.once('error', () => {
          s.destroy()
          resolve(undefined)
        })
      })
      if (!sock) await sleep(50)
    }
    sock.on('data', onData)
    sock.on('error', () => {})
  } catch (err) {
    await stop()
    throw new Error(`baresip did not start: ${(err as Error).message}\n${out.toString().slice(-3000)}`, { cause: err })
  }

  const handle: Baresip = {
    address: { host: LOCALHOST, port: sipPort },
    ctrlPort,
    workDir: dir,
    events,
    output: () => out.toString(),
    command,
    waitForEvent,
    async waitRegistered(timeoutMs = 10_000) {
      const e = await waitForEvent(['REGISTER_OK', 'REGISTER_FAIL'], { timeoutMs })
      if (e.type !== 'REGISTER_OK') throw new Error(`baresip registration failed: ${e.param ?? ''}\n${out.toString().slice(-2000)}`)
      return e
    },
    async dial(uri) {
      const r = await command('dial', uri)
      if (!r.ok) throw new Error(`baresip dial ${uri} failed: ${r.data}`)
    },
    async hangup() {
      const r = await command('hangup')
      if (!r.ok) throw new Error(`baresip hangup failed: ${r.data}`)
    },
    stop
  }

  if (opts.account) {
    const a = opts.account
    const domain = a.domain ?? hostPort(a.registrar)
    // outbound= sends everything (REGISTER, INVITE, ...) to the registrar whatever the AOR domain
    const line =
      `<sip:${a.user}@${domain}>;auth_user=${a.user};auth_pass=${a.password}` +
      `;outbound="sip:${hostPort(a.registrar)}"` +
      `;regint=${a.regint ?? 600};audio_codecs=PCMU,PCMA;answermode=${a.answerMode ?? 'auto'}`
    const r = await command('uanew', line).catch(async (err) => {
      await stop()
      throw err
    })
    if (!r.ok) {
      await stop()
      throw new Error(`baresip uanew failed: ${r.data}`)
    }
  }
  return handle
}

/** True if the `sipp`, `kamailio` and `baresip` binaries are on PATH. */
export function interopToolsInstalled(): { sipp: boolean; kamailio: boolean; baresip: boolean } {
  const on = (bin: string): boolean =>
    (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, bin)))
  return { sipp: on('sipp'), kamailio: on('kamailio'), baresip: on('baresip') }
}
