/// <reference lib="dom" />
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { Lab } from '../helpers/overlay.js'
import { CliProcess } from '../helpers/cli.js'
import { EVALUATE_SHIM, MEDIA_PROBE, eventually, launchChromium, playedLevels, startGapWatch, stopGapWatch, writeToneWav } from '../helpers/browser.js'

/**
 * Conferences through the UI: five `parley serve --web` peers on a local
 * testnet, each page in its own Chromium with its own tone as microphone. What
 * each member plays (the conference's audio element) is analysed by frequency:
 * it must hold every other member's tone and not its own.
 */
interface Member {
  name: string
  aor: string
  hz: number
  cli: CliProcess
  page: Page
  browser: Browser
  alive: boolean
}

const PEOPLE: Array<[string, number]> = [
  ['anna', 450],
  ['ben', 700],
  ['cleo', 950],
  ['dev', 1250],
  ['eve', 1550]
]
const AUDIO = '[data-testid="conference-audio"]'
/** Another member's tone must stand this far above one's own (dB). */
const OWN_BELOW = 15
/** And above this absolute level, to count as heard. */
const HEARD_DB = -80

let lab: Lab
const members = new Map<string, Member>()

async function startMember(name: string, hz: number): Promise<Member> {
  const aor = `sip:${name}@example.org`
  const dataDir = await lab.tempDir()
  const wav = join(await lab.tempDir(), `${name}.wav`)
  await writeToneWav(wav, hz, 10)
  // `--relay-cpu own`: af() from the peer's own CPU, so five peers on one machine score alike.
  const cli = CliProcess.start(['serve', '--data-dir', dataDir, '--aor', aor, '--bootstrap', lab.bootstrap.join(','), '--dht-host', '127.0.0.1', '--web', '0', '--relay-cpu', 'own'])
  lab.onTeardown(async () => void (await cli.stop('SIGKILL')))
  const web = await cli.waitFor((l) => l.event === 'web', 'web line')
  await cli.waitFor((l) => l.event === 'ready', 'ready line')
  const browser = await launchChromium({ fakeAudioWav: wav, extraArgs: [`--parley-conference-member=${name}`] })
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

const m = (name: string) => members.get(name)!
const live = () => [...members.values()].filter((x) => x.alive)

async function rosterOf(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="conference-member"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-aor') ?? ''))
    .catch(() => [])
}

async function panel(page: Page): Promise<{ mixer: string | null; state: string | null; members: string[] }> {
  const p = page.getByTestId('conference-panel')
  if ((await p.count()) === 0) return { mixer: null, state: null, members: [] }
  return { mixer: await p.getAttribute('data-mixer').catch(() => null), state: await p.getAttribute('data-state').catch(() => null), members: (await rosterOf(page)).sort() }
}

/** Every live member shows the same roster of exactly the live members, settled (not handing over). */
async function rosterSettles(what: string): Promise<string> {
  const expected = live()
    .map((x) => x.aor)
    .sort()
  let mixer = ''
  await eventually(
    async () => Promise.all(live().map((x) => panel(x.page))),
    (views) => {
      const ok = views.every((v) => v.state === 'active' && v.mixer === views[0]!.mixer && JSON.stringify(v.members) === JSON.stringify(expected))
      if (ok) mixer = views[0]!.mixer!
      return ok
    },
    what,
    45_000
  )
  return mixer
}

/** Each live member hears every other live member's tone and not its own. */
async function everyoneHearsTheOthers(what: string): Promise<void> {
  const people = live()
  const freqs = people.map((x) => x.hz)
  for (const x of people) {
    const levels = await eventually(
      () => playedLevels(x.page, AUDIO, freqs),
      (l) => {
        if (!l) return false
        const own = l[people.indexOf(x)]!
        return l.every((db, i) => i === people.indexOf(x) || (db > HEARD_DB && db - own >= OWN_BELOW))
      },
      `${what}: what ${x.name} hears (dB at ${freqs.join(', ')} Hz)`,
      30_000
    )
    assert.ok(levels)
  }
}

async function answerIncoming(x: Member): Promise<void> {
  await x.page.getByTestId('incoming-call').waitFor({ timeout: 30_000 })
  await x.page.getByTestId('incoming-answer').click()
}

before(async () => {
  lab = await Lab.create(8)
  for (const [name, hz] of PEOPLE) members.set(name, await startMember(name, hz))
})

after(async () => {
  for (const x of members.values()) await x.browser.close().catch(() => {})
  await lab.destroy()
})

test('four members: each hears the other three and not itself', async () => {
  const [anna, ben, cleo, dev] = [m('anna'), m('ben'), m('cleo'), m('dev')]
  for (const x of [m('eve')]) x.alive = false // joins in the next test
  await anna.page.getByTestId('nav-dial').click()
  await anna.page.getByTestId('dial-input').fill(ben.aor)
  await anna.page.getByTestId('dial-call').click()
  await answerIncoming(ben)
  await eventually(() => anna.page.getByTestId('call-state').textContent(), (s) => s?.trim() === 'connected', 'anna → ben')

  await anna.page.getByTestId('call-add-input').fill(cleo.aor)
  await anna.page.getByTestId('call-add').click()
  await answerIncoming(cleo)
  await anna.page.getByTestId('conference-add-input').fill(dev.aor)
  await anna.page.getByTestId('conference-add').click()
  await answerIncoming(dev)

  const mixer = await rosterSettles('roster of four')
  assert.ok([anna, ben, cleo, dev].some((x) => x.aor === mixer))
  await everyoneHearsTheOthers('four members')
  await anna.page.screenshot({ path: join(process.cwd(), 'test-artifacts', 'e2e', 'conference.png'), fullPage: true }).catch(() => {})
})

test('a fifth member invited by a member (not the mixer) joins and hears everyone', async () => {
  const eve = m('eve')
  eve.alive = true
  const mixer = (await panel(m('anna').page)).mixer
  const asker = live().find((x) => x.aor !== mixer && x !== eve)!
  await asker.page.getByTestId('conference-add-input').fill(eve.aor)
  await asker.page.getByTestId('conference-add').click()
  await answerIncoming(eve)
  await rosterSettles('roster of five')
  await everyoneHearsTheOthers('five members')
})

test('the mixer hangs up: the others elect the same successor and keep hearing each other', async (t) => {
  const mixerAor = (await panel(m('anna').page)).mixer
  const mixer = live().find((x) => x.aor === mixerAor)!
  const listener = live().find((x) => x !== mixer)!
  const talker = live().find((x) => x !== mixer && x !== listener)!
  await startGapWatch(listener.page, AUDIO, talker.hz, -70)
  await mixer.page.getByTestId('conference-leave').click()
  mixer.alive = false
  await eventually(() => mixer.page.getByTestId('conference-panel').count(), (n) => n === 0, 'the leaving mixer is out')
  const successor = await rosterSettles('roster after the mixer left')
  assert.notEqual(successor, mixerAor)
  await everyoneHearsTheOthers('after a planned handoff')
  t.diagnostic(`audio gap at ${listener.name} for ${talker.name}: ${Math.round(await stopGapWatch(listener.page))} ms`)
})

test("the mixer's app is killed (SIGKILL): the others detect it, elect a successor and keep hearing each other", async (t) => {
  const mixerAor = (await panel(live()[0]!.page)).mixer
  const mixer = live().find((x) => x.aor === mixerAor)!
  const listener = live().find((x) => x !== mixer)!
  const talker = live().find((x) => x !== mixer && x !== listener)!
  await startGapWatch(listener.page, AUDIO, talker.hz, -70)
  // The whole app: its browser and its peer, as a crash or power loss would.
  execFileSync('pkill', ['-KILL', '-f', '--', `--parley-conference-member=${mixer.name}`])
  await mixer.cli.stop('SIGKILL')
  mixer.alive = false
  const successor = await rosterSettles('roster after the mixer died')
  assert.notEqual(successor, mixerAor)
  await everyoneHearsTheOthers('after the mixer died')
  t.diagnostic(`audio gap at ${listener.name} for ${talker.name}: ${Math.round(await stopGapWatch(listener.page))} ms`)
})
