import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const PARLEY = fileURLToPath(new URL('../../bin/parley.js', import.meta.url))

/** A long-running `parley` process whose stdout JSON lines can be awaited. */
export class CliProcess {
  readonly lines: Array<Record<string, unknown>> = []
  stderr = ''
  readonly exited: Promise<number | null>
  private waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = []

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text)
      } catch {
        line = { text }
      }
      this.lines.push(line)
      this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true))
    })
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  static start(args: string[]): CliProcess {
    return new CliProcess(spawn(process.execPath, [PARLEY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARLEY_LOG_LEVEL: 'warn' } }))
  }

  /** The first line (already seen or future) matching `match`; rejects if the process exits first. */
  waitFor(match: (l: Record<string, unknown>) => boolean, what = 'line'): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve })
      void this.exited.then((code) => reject(new Error(`parley exited (${code}) before ${what}; stderr: ${this.stderr.slice(-2000)}`)))
    })
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    return this.exited
  }
}

/** Run a short `parley` command; resolves with its exit code and output. */
export function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PARLEY, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** A `parley testnet` of `nodes` for a test file: resolves with its bootstrap list ("127.0.0.1:PORT,…"); the process joins `procs` to be stopped with the rest. */
export async function startCliTestnet(procs: CliProcess[], nodes = 8): Promise<string> {
  const testnet = CliProcess.start(['testnet', '--nodes', String(nodes)])
  procs.push(testnet)
  const line = await testnet.waitFor((l) => Array.isArray(l.bootstrap), 'bootstrap line')
  const bootstrap = (line.bootstrap as string[]).join(',')
  if (!/^127\.0\.0\.1:\d+/.test(bootstrap)) throw new Error(`testnet bootstrap is not on 127.0.0.1: ${bootstrap}`)
  return bootstrap
}
