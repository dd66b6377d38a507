/**
 * NAT-lab call matrix: real Parley calls between peers with no NAT, a cone
 * NAT and a symmetric NAT on each side (test/lab/call-lab.ts builds the lab:
 * network namespaces, kernel NATs, three super-nodes with TURN and blind
 * relay, one Chromium per peer driving the real UI). Every cell L-x → R-y is
 * dialled N times; each call counts as a success when both UIs show
 * `connected`, inbound audio rises on both sides and each side hears the
 * other's tone. Recorded per cell: attempts, successes, how many went direct
 * and how many through a relay (the selected ICE candidate pair), and the
 * median set-up time from the click on Call to `connected` at the caller
 * (also split into the first call of the pair, when the peer stream still has
 * to be opened, and the repeats).
 *
 *   sudo npm run lab:nat -- [--attempts 3]
 *
 * Needs root (network namespaces). JSON in bench/results/lab-nat-latest.json;
 * the matrix on stderr.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { NATS, hangUp, median, placeCall, startCallLab, type CallOutcome, type PeerNat } from '../test/lab/call-lab.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')

interface Sample {
  attempt: number
  ok: boolean
  path: string | null
  setupMs: number | null
  mediaUpMs: number | null
  callerPath: string
  error: string | null
}

interface Cell {
  from: string
  to: string
  attempts: number
  successes: number
  direct: number
  relayed: number
  medianSetupMs: number | null
  medianSetupMsFirst: number | null
  medianSetupMsRepeat: number | null
  medianMediaUpMs: number | null
  samples: Sample[]
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run lab:nat -- [--attempts N]\n`)
  process.exit(2)
}

async function main(): Promise<void> {
  let values: { attempts?: string }
  try {
    values = parseArgs({ options: { attempts: { type: 'string' } }, strict: true }).values
  } catch (err) {
    usage((err as Error).message)
  }
  const attempts = Number(values.attempts ?? 3)
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) usage('--attempts must be an integer from 1 to 100')

  const started = Date.now()
  const progress = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`)
  const lab = await startCallLab({ progress })
  const cells = new Map<string, Cell>()
  for (const x of NATS) for (const y of NATS) {
    cells.set(`${x}/${y}`, {
      from: `l-${x}`, to: `r-${y}`, attempts: 0, successes: 0, direct: 0, relayed: 0,
      medianSetupMs: null, medianSetupMsFirst: null, medianSetupMsRepeat: null, medianMediaUpMs: null, samples: []
    })
  }
  try {
    // Attempt by attempt over the whole matrix, so the repeats of a cell are spread over the run.
    for (let attempt = 1; attempt <= attempts; attempt++) {
      for (const x of NATS) {
        for (const y of NATS) {
          const from = lab.peer('l', x)
          const to = lab.peer('r', y)
          const call: CallOutcome = await placeCall(from, to)
          const ok = call.error === null
          const cell = cells.get(`${x}/${y}`)!
          cell.attempts++
          if (ok) cell.successes++
          if (ok && call.path === 'direct') cell.direct++
          if (ok && call.path === 'relayed') cell.relayed++
          cell.samples.push({ attempt, ok, path: call.path, setupMs: call.setupMs, mediaUpMs: call.mediaUpMs, callerPath: call.callerPath, error: call.error })
          progress(`attempt ${attempt} ${call.cell}: ${ok ? `${call.path}, connected after ${call.setupMs} ms` : `FAILED ${call.error}`}`)
          await hangUp(from, to).catch((err: Error) => progress(`hang-up ${call.cell}: ${err.message}`))
        }
      }
    }
  } finally {
    await lab.close()
  }

  for (const cell of cells.values()) {
    const good = cell.samples.filter((s) => s.ok && s.setupMs !== null)
    cell.medianSetupMs = median(good.map((s) => s.setupMs!))
    cell.medianSetupMsFirst = median(good.filter((s) => s.attempt === 1).map((s) => s.setupMs!))
    cell.medianSetupMsRepeat = median(good.filter((s) => s.attempt > 1).map((s) => s.setupMs!))
    cell.medianMediaUpMs = median(good.filter((s) => s.mediaUpMs !== null).map((s) => s.mediaUpMs!))
  }
  const all = [...cells.values()]
  const total = all.reduce((n, c) => n + c.attempts, 0)
  const successes = all.reduce((n, c) => n + c.successes, 0)
  const result = {
    benchmark: 'lab-nat',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(),
      node: process.version,
      chromium: execFileSync(process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    },
    params: { attempts },
    lab: {
      description: '1 DHT host (6 nodes, far-ms 25), 3 super-nodes (parley serve --supernode always, TURN on the public address), 6 web peers with one Chromium each; cone = MASQUERADE, symmetric = MASQUERADE --random; NAT routers drop unsolicited WAN input; the internet drops TTL < 7 and lowers the rest by 6 (test/lab/README.md)',
      setupMs: lab.timings,
      peers: [...lab.peers.values()].map((p) => ({ name: p.name, nat: p.nat, address: p.host.address, publicAddress: p.host.publicAddress, firewalled: p.firewalled, randomized: p.randomized }))
    },
    total: { attempts: total, successes, successRate: total ? successes / total : 0 },
    matrix: Object.fromEntries(all.map((c) => [`${c.from} → ${c.to}`, c])),
    runSeconds: Math.round((Date.now() - started) / 1000)
  }
  await mkdir(RESULTS_DIR, { recursive: true })
  await writeFile(join(RESULTS_DIR, 'lab-nat-latest.json'), JSON.stringify(result, null, 2) + '\n')

  const w = 26
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(19) : c.padEnd(w))).join('')
  const out = [
    '',
    `NAT lab call matrix: ${successes}/${total} calls connected with two-way audio (${attempts} per cell); cell = ok/attempts, direct/relayed, median dial→connected`,
    line(['caller ↓ callee →', ...NATS.map((y) => `r-${y}`)]),
    ...NATS.map((x: PeerNat) =>
      line([
        `l-${x}`,
        ...NATS.map((y) => {
          const c = cells.get(`${x}/${y}`)!
          return `${c.successes}/${c.attempts}, ${c.direct}d/${c.relayed}r, ${c.medianSetupMs ?? '–'} ms`
        })
      ])
    ),
    `written to ${join(RESULTS_DIR, 'lab-nat-latest.json')}`,
    ''
  ]
  process.stderr.write(out.join('\n'))
  if (successes < total) process.exitCode = 1
}

await main()
