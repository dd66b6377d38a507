/**
 * Thin, safe wrappers around Linux network namespaces for the NAT lab
 * (test/lab/README.md). Needs root and the Debian packages iproute2 and
 * iptables (.ci/apt-packages).
 *
 * Every namespace this process creates is named `plab-<pid>-<n>-<name>` and
 * remembered, so that
 *  - `destroyNamespace` / `cleanupAll` kill whatever runs inside and delete it,
 *  - an `exit`, SIGINT or SIGTERM of this process still removes them, and
 *  - `cleanupStale()` removes the leftovers of a run that was killed outright
 *    (any `plab-<pid>-` namespace whose pid no longer exists).
 *
 * Interfaces are created directly inside their namespaces
 * (`ip link add … netns NS type veth peer … netns NS2`), so their names only
 * need to be unique per namespace and nothing ever appears in the root
 * namespace. Interface names are at most 15 characters (IFNAMSIZ − 1).
 *
 * Arguments go to execFile / spawn as arrays. The only shell code is fixed:
 * `setSysctl` passes key and value as positional parameters, and
 * `chromiumWrapper` writes a script from validated names.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { rmSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'
import { createInterface } from 'node:readline'

export const LAB_PREFIX = 'plab-'
const NAME_RE = /^[a-z0-9][a-z0-9-]*$/
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/

const created = new Set<string>()
const children = new Set<ChildProcess>()
/** temp dirs (chromium wrappers) to remove with their namespace */
const tempDirs = new Map<string, string[]>()
let topologyCounter = 0

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string
  ) {
    super(`${argv.join(' ')} failed (${code}): ${stderr.trim() || stdout.trim()}`)
  }
}

/** True when this process may build namespaces (root). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

/** Throws a clear error unless running as root (the lab tests must fail, not skip, otherwise). */
export function requireRoot(): void {
  if (!isRoot()) {
    throw new Error(
      'test/lab needs root: it builds network namespaces, veth pairs and iptables rules. ' +
        'Run as root (CI does), e.g. `sudo node --import tsx --test test/lab/*.test.ts`.'
    )
  }
}

/**
 * Throws a clear error unless the lab can run here: root, and the `ip`
 * (iproute2) and `iptables` programs installed (.ci/apt-packages).
 */
export async function requireLab(): Promise<void> {
  requireRoot()
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables']] as const) {
    await run(cmd, ['-V']).catch((err: CommandError) => {
      throw new Error(`test/lab needs \`${cmd}\` (Debian package ${pkg}, listed in .ci/apt-packages): ${err.message}`)
    })
  }
}

/** Run a program in the root namespace; resolves with stdout, rejects with a CommandError carrying stderr. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError([cmd, ...args], (err as NodeJS.ErrnoException).code ?? null, String(stdout), String(stderr)))
      else resolve(String(stdout))
    })
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}

/** Run `cmd args` inside namespace `ns` (`ip netns exec`); resolves with stdout. */
export function exec(ns: string, cmd: string, args: string[] = [], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts)
}

/**
 * Start `cmd args` inside namespace `ns`. `ip netns exec` execs the program,
 * so the returned ChildProcess's pid is the program itself. The process is
 * killed by `destroyNamespace`/`cleanupAll` and when this process exits.
 */
export function spawnIn(ns: string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts })
  children.add(child)
  child.once('exit', () => children.delete(child))
  track(child)
  return child
}

/** Stop a process started by `spawnIn`: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

interface Output {
  emitter: EventEmitter
  history: Array<Record<string, unknown>>
  stderrTail: string
}
const outputs = new WeakMap<ChildProcess, Output>()

/** Parses JSON lines on stdout and keeps a stderr tail, from the start (so nothing is missed). */
function track(child: ChildProcess): Output {
  const known = outputs.get(child)
  if (known) return known
  const o: Output = { emitter: new EventEmitter(), history: [], stderrTail: '' }
  outputs.set(child, o)
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const t = line.trim()
      if (!t.startsWith('{')) return
      let msg: Record<string, unknown>
      try {
        msg = JSON.parse(t) as Record<string, unknown>
      } catch {
        return
      }
      o.history.push(msg)
      if (o.history.length > 10_000) o.history.splice(0, 5_000)
      o.emitter.emit('json', msg)
    })
  }
  child.stderr?.on('data', (d: Buffer) => {
    o.stderrTail = (o.stderrTail + d.toString()).slice(-4_000)
  })
  return o
}

/**
 * An emitter of `'json'` events, one per JSON-object line on the stdout of a
 * process started by `spawnIn` (non-JSON lines are ignored).
 */
export function jsonLines(child: ChildProcess): EventEmitter {
  return track(child).emitter
}

/** The last few KB a process started by `spawnIn` wrote to stderr. */
export function stderrTail(child: ChildProcess): string {
  return track(child).stderrTail
}

/**
 * Resolves with the first JSON line on `child`'s stdout that satisfies
 * `match`, looking at lines already printed first, then at new ones. Rejects
 * on timeout or if the process exits first, quoting its stderr tail. Fits the
 * lab fixtures and `parley serve` (one JSON object per line).
 */
export function waitForJson<T = Record<string, unknown>>(
  child: ChildProcess,
  match: (msg: Record<string, unknown>) => boolean = () => true,
  timeoutMs = 20_000
): Promise<T> {
  const o = track(child)
  const seen = o.history.find(match)
  if (seen) return Promise.resolve(seen as T)
  return new Promise<T>((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer)
      o.emitter.off('json', onJson)
      child.off('exit', onExit)
      fn()
    }
    const onJson = (msg: Record<string, unknown>) => {
      if (match(msg)) done(() => resolve(msg as T))
    }
    const onExit = (code: number | null, signal: string | null) =>
      done(() => reject(new Error(`process exited (${code ?? signal}) before the expected JSON line; stderr: ${o.stderrTail.trim()}`)))
    const timer = setTimeout(
      () => done(() => reject(new Error(`no matching JSON line within ${timeoutMs} ms; stderr: ${o.stderrTail.trim()}`))),
      timeoutMs
    )
    o.emitter.on('json', onJson)
    if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode)
    else child.once('exit', onExit)
  })
}

function checkName(name: string, what: string): void {
  if (!NAME_RE.test(name)) throw new Error(`${what} ${JSON.stringify(name)}: use lower-case letters, digits and '-'`)
}

function checkIfName(name: string): void {
  if (!IFNAME_RE.test(name)) throw new Error(`interface name ${JSON.stringify(name)}: 1-15 characters [A-Za-z0-9_.-]`)
}

/**
 * A fresh namespace-name prefix for one topology of this process,
 * `plab-<pid>-<n>-`. Namespaces already carrying it can only be leftovers of
 * an earlier process that had the same pid, so they are removed.
 */
export async function newPrefix(): Promise<string> {
  const prefix = `${LAB_PREFIX}${process.pid}-${++topologyCounter}-`
  for (const ns of await listNamespaces()) {
    if (ns.startsWith(prefix) && !created.has(ns)) await deleteNamespaceByName(ns)
  }
  return prefix
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list'])
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean)
}

/** Create namespace `name` with its loopback up. */
export async function createNamespace(name: string): Promise<string> {
  checkName(name, 'namespace')
  await run('ip', ['netns', 'add', name])
  created.add(name)
  await exec(name, 'ip', ['link', 'set', 'lo', 'up'])
  return name
}

/** Kill every process inside `name`, then delete it. Never throws for a namespace that is already gone. */
export async function destroyNamespace(name: string): Promise<void> {
  await deleteNamespaceByName(name)
  created.delete(name)
  for (const dir of tempDirs.get(name) ?? []) await rm(dir, { recursive: true, force: true })
  tempDirs.delete(name)
}

async function deleteNamespaceByName(name: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pids = await run('ip', ['netns', 'pids', name]).catch(() => '')
    const list = pids.split(/\s+/).filter(Boolean).map(Number)
    for (const pid of list) {
      try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
    }
    if (list.length > 0) await new Promise((r) => setTimeout(r, 50))
    else break
  }
  await run('ip', ['netns', 'delete', name]).catch((err: CommandError) => {
    if (!/No such file|Cannot remove namespace file/.test(err.stderr)) throw err
  })
}

/** Kill processes started by `spawnIn` and delete every namespace this process created. */
export async function cleanupAll(): Promise<void> {
  for (const child of children) child.kill('SIGKILL')
  for (const ns of [...created]) await destroyNamespace(ns).catch(() => {})
}

/**
 * Remove leftovers of lab runs that died without cleaning up: every
 * `plab-<pid>-…` namespace whose pid is no longer a running process
 * (processes still inside it are killed first). Returns the names removed.
 */
export async function cleanupStale(): Promise<string[]> {
  const removed: string[] = []
  for (const ns of await listNamespaces()) {
    const m = /^plab-(\d+)-/.exec(ns)
    if (!m || pidAlive(Number(m[1]))) continue
    await deleteNamespaceByName(ns)
    removed.push(ns)
  }
  return removed
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Synchronous last-resort cleanup for `exit` and signals. */
function cleanupAllSync(): void {
  for (const child of children) {
    try { child.kill('SIGKILL') } catch { /* gone */ }
  }
  for (const ns of created) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
      }
      execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' })
    } catch {
      // best effort
    }
  }
  created.clear()
  for (const dirs of tempDirs.values()) for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

process.once('exit', cleanupAllSync)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  const onSignal = () => {
    cleanupAllSync()
    process.off(sig, onSignal)
    process.kill(process.pid, sig)
  }
  process.on(sig, onSignal)
}

/** Create a veth pair `a` (in `nsA`) ⇄ `b` (in `nsB`), both brought up. */
export async function addVethPair(nsA: string, a: string, nsB: string, b: string): Promise<void> {
  checkIfName(a)
  checkIfName(b)
  await run('ip', ['link', 'add', 'name', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB])
  await exec(nsA, 'ip', ['link', 'set', a, 'up'])
  await exec(nsB, 'ip', ['link', 'set', b, 'up'])
}

/** Create bridge `name` in `ns`, up. */
export async function addBridge(ns: string, name: string): Promise<void> {
  checkIfName(name)
  await exec(ns, 'ip', ['link', 'add', 'name', name, 'type', 'bridge'])
  await exec(ns, 'ip', ['link', 'set', name, 'up'])
}

/** Attach interface `dev` to bridge `bridge` (both in `ns`). */
export async function attachToBridge(ns: string, dev: string, bridge: string): Promise<void> {
  checkIfName(dev)
  checkIfName(bridge)
  await exec(ns, 'ip', ['link', 'set', dev, 'master', bridge])
}

/**
 * Add an IPv4 address: `cidr` like `10.0.1.2/24`; with `peer`, a point-to-point
 * address (`ip addr add LOCAL peer PEER`), which also routes PEER via `dev`.
 */
export async function addAddress(ns: string, dev: string, cidr: string, peer?: string): Promise<void> {
  checkIfName(dev)
  await exec(ns, 'ip', ['addr', 'add', cidr, ...(peer ? ['peer', peer] : []), 'dev', dev])
}

/** `ip route add DEST [via GW] [dev DEV]` in `ns`; `dest` may be `default`. */
export async function addRoute(ns: string, dest: string, opts: { via?: string; dev?: string }): Promise<void> {
  const args = ['route', 'add', dest]
  if (opts.via) args.push('via', opts.via)
  if (opts.dev) {
    checkIfName(opts.dev)
    args.push('dev', opts.dev)
  }
  await exec(ns, 'ip', args)
}

/** `iptables -w [-t TABLE] ARGS…` in `ns`, e.g. `iptables(ns, 'nat', ['-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE'])`. */
export async function iptables(ns: string, table: 'filter' | 'nat' | 'mangle' | 'raw', args: string[]): Promise<void> {
  await exec(ns, 'iptables', ['-w', '-t', table, ...args])
}

/** Set a sysctl inside `ns` (e.g. `net.ipv4.ip_forward`, `'1'`) by writing /proc/sys in the namespace. */
export async function setSysctl(ns: string, key: string, value: string): Promise<void> {
  if (!/^[a-z0-9_.-]+$/.test(key) || !/^[A-Za-z0-9 _.-]*$/.test(value)) throw new Error(`bad sysctl ${key}=${value}`)
  const path = `/proc/sys/${key.replace(/\./g, '/')}`
  await exec(ns, 'sh', ['-c', 'printf "%s\\n" "$1" > "$2"', 'sh', value, path])
}

/** Enable IPv4 forwarding in `ns` (routers). */
export function enableForwarding(ns: string): Promise<void> {
  return setSysctl(ns, 'net.ipv4.ip_forward', '1')
}

/**
 * Writes an executable script that runs Debian's Chromium inside `ns`
 * (`exec ip netns exec NS /usr/bin/chromium "$@"`) into a fresh temp dir and
 * returns its path, for playwright's `chromium.launch({ executablePath })`.
 * The browser's loopback is the namespace's loopback. The script is removed
 * with the namespace.
 */
export async function chromiumWrapper(ns: string, chromium = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium'): Promise<string> {
  checkName(ns, 'namespace')
  if (!/^[A-Za-z0-9_./-]+$/.test(chromium)) throw new Error(`unsafe chromium path ${chromium}`)
  const dir = await mkdtemp(join(tmpdir(), 'plab-chromium-'))
  const path = join(dir, 'chromium')
  await writeFile(path, `#!/bin/sh\nexec ip netns exec ${ns} ${chromium} "$@"\n`)
  await chmod(path, 0o755)
  tempDirs.set(ns, [...(tempDirs.get(ns) ?? []), dir])
  return path
}
