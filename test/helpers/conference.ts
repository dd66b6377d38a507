/// <reference lib="dom" />
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { EVALUATE_SHIM, MEDIA_PROBE, eventually, launchChromium, playedLevels } from './browser.js'
import { CliProcess } from './cli.js'
import type { Lab } from './overlay.js'

/** What each conference member plays: the conference's audio element. */
export const CONFERENCE_AUDIO = '[data-testid="conference-audio"]'

/** One person in a conference: a `parley serve --web` peer and its page in its own Chromium. */
export interface ConferenceMember {
  name: string
  aor: string
  hz: number
  cli: CliProcess
  page: Page
  browser: Browser
  alive: boolean
}

/** Chromium ignores switches it does not know: this one names the member's browser process for `pkill -f`. */
export const memberSwitch = (name: string) => `--parley-conference-member=${name}`

export async function startConferenceMember(lab: Lab, name: string, hz: number, wav: string): Promise<ConferenceMember> {
  const aor = `sip:${name}@example.org`
  const dataDir = await lab.tempDir()
  // `--relay-cpu own`: af() from the peer's own CPU, so peers sharing one machine score alike.
  const cli = CliProcess.start(['serve', '--data-dir', dataDir, '--aor', aor, '--bootstrap', lab.bootstrap.join(','), '--dht-host', '127.0.0.1', '--web', '0', '--relay-cpu', 'own'])
  lab.onTeardown(async () => void (await cli.stop('SIGKILL')))
  const web = await cli.waitFor((l) => l.event === 'web', 'web line')
  await cli.waitFor((l) => l.event === 'ready', 'ready line')
  const browser = await launchChromium({ fakeAudioWav: wav, extraArgs: [memberSwitch(name)] })
  lab.onTeardown(() => browser.close().catch(() => {}))
  const context = await browser.newContext()
  await context.addInitScript(EVALUATE_SHIM)
  await context.addInitScript(MEDIA_PROBE)
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`))
  await page.goto(String(web.url))
  await page.waitForURL(/\/app\//)
  await page.getByTestId('sip-registration').filter({ hasText: /^registered$/ }).waitFor({ timeout: 30_000 })
  return { name, aor, hz, cli, page, browser, alive: true }
}

/** The whole app of a member at once, browser and peer, as a crash or power loss would. */
export async function killMember(x: ConferenceMember): Promise<void> {
  execFileSync('pkill', ['-KILL', '-f', '--', memberSwitch(x.name)])
  await x.cli.stop('SIGKILL')
  x.alive = false
}

export async function conferencePanel(page: Page): Promise<{ mixer: string | null; state: string | null; members: string[] }> {
  const p = page.getByTestId('conference-panel')
  if ((await p.count()) === 0) return { mixer: null, state: null, members: [] }
  const members = await page
    .locator('[data-testid="conference-member"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-aor') ?? ''))
    .catch(() => [] as string[])
  return { mixer: await p.getAttribute('data-mixer').catch(() => null), state: await p.getAttribute('data-state').catch(() => null), members: members.sort() }
}

/** Every given member shows the same settled roster of exactly these members; resolves with its mixer. */
export async function rosterSettles(people: ConferenceMember[], what: string, timeoutMs = 45_000): Promise<string> {
  const expected = people.map((x) => x.aor).sort()
  let mixer = ''
  await eventually(
    () => Promise.all(people.map((x) => conferencePanel(x.page))),
    (views) => {
      const ok = views.every((v) => v.state === 'active' && v.mixer === views[0]!.mixer && JSON.stringify(v.members) === JSON.stringify(expected))
      if (ok) mixer = views[0]!.mixer!
      return ok
    },
    what,
    timeoutMs
  )
  return mixer
}

/**
 * Each member hears every other member's tone, `ownBelowDb` above its own and
 * above `heardDb`. Resolves with each member's levels (dB at each tone).
 */
export async function everyoneHearsTheOthers(people: ConferenceMember[], what: string, ownBelowDb = 15, heardDb = -80): Promise<number[][]> {
  const freqs = people.map((x) => x.hz)
  const all: number[][] = []
  for (const [i, x] of people.entries()) {
    const levels = await eventually(
      () => playedLevels(x.page, CONFERENCE_AUDIO, freqs),
      (l) => l !== null && l.every((db, j) => j === i || (db > heardDb && db - l[i]! >= ownBelowDb)),
      `${what}: what ${x.name} hears (dB at ${freqs.join(', ')} Hz)`,
      30_000
    )
    all.push(levels!)
  }
  return all
}

export async function answerIncoming(x: ConferenceMember): Promise<void> {
  await x.page.getByTestId('incoming-call').waitFor({ timeout: 30_000 })
  await x.page.getByTestId('incoming-answer').click()
}

/** CPU time (s) used so far by a process and all its descendants (Linux /proc). */
export function treeCpuSeconds(rootPid: number): number {
  const ticks = 100 // sysconf(_SC_CLK_TCK) on Linux
  const parent = new Map<number, number>()
  const cpu = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      parent.set(pid, Number(fields[1]))
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks)
    } catch {
      // exited meanwhile
    }
  }
  let total = 0
  for (const [pid, seconds] of cpu) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === rootPid) {
        total += seconds
        break
      }
    }
  }
  return total
}

/** The browser process of a member (the one started with its switch). */
export function browserPid(x: ConferenceMember): number {
  const pids = execFileSync('pgrep', ['-f', '--', memberSwitch(x.name)]).toString().trim().split('\n').map(Number)
  // The browser is the ancestor of the others: the one whose parent is not in the list.
  const parents = new Map(pids.map((pid) => [pid, Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])]))
  return pids.find((pid) => !pids.includes(parents.get(pid)!)) ?? pids[0]!
}
