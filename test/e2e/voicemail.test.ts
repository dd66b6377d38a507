/// <reference lib="dom" />
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { Peer } from '../../app/peer.js'
import { Lab } from '../helpers/overlay.js'
import { CliProcess } from '../helpers/cli.js'
import { EVALUATE_SHIM, eventually, launchChromium, writeToneWav } from '../helpers/browser.js'

/**
 * Voicemail through the UI (issue 6): two `parley serve --web` peers on a
 * local testnet, each in its own Chromium with a fake microphone playing a
 * tone, and three super-nodes holding mailboxes. Alice calls Bob, Bob
 * declines, Alice records a voice message in the panel the call leaves behind
 * and sends it (sealed to Bob, stored by the holders); Bob checks his mailbox,
 * his message-waiting badge shows it, he plays it (real Opus, decoded by the
 * browser) and the badge goes back to nothing.
 */
const ALICE = 'sip:alice@example.org'
const ALICE_HZ = 440
const BOB = 'sip:bob@example.org'
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e')
const REPLICAS = 3
/** Peers fetch their mailbox when asked (the UI's "Check mailbox now"), not on a timer. */
const MAILBOX = { replicas: REPLICAS, checkMs: 3_600_000, repairMs: 3_600_000 }

let lab: Lab
const browsers: Browser[] = []
interface WebPeer {
  cli: CliProcess
  page: Page
  dataDir: string
}
let alice: WebPeer
let bob: WebPeer
let bobWavPath = ''

/** `parley serve --web` and its UI; with `restart`, the same peer again (its data directory) in its browser. */
async function startWebPeer(aor: string, wav: string, restart?: WebPeer): Promise<WebPeer> {
  const dataDir = restart?.dataDir ?? (await lab.tempDir())
  const cli = CliProcess.start([
    'serve',
    '--data-dir',
    dataDir,
    '--aor',
    aor,
    '--bootstrap',
    lab.bootstrap.join(','),
    '--dht-host',
    '127.0.0.1',
    '--web',
    '0',
    '--supernode',
    'never',
    '--mailbox-replicas',
    String(MAILBOX.replicas),
    '--mailbox-check-ms',
    String(MAILBOX.checkMs)
  ])
  lab.onTeardown(async () => void (await cli.stop()))
  const web = await cli.waitFor((l) => l.event === 'web', 'web line')
  await cli.waitFor((l) => l.event === 'ready', 'ready line')
  let page = restart?.page
  if (!page) {
    const browser = await launchChromium({ fakeAudioWav: wav })
    browsers.push(browser)
    const context = await browser.newContext()
    await context.addInitScript(EVALUATE_SHIM)
    page = await context.newPage()
    page.on('pageerror', (err) => console.error(`[${aor}] page error: ${err.message}`))
  }
  await page.goto(String(web.url))
  await page.waitForURL(/\/app\//)
  await page.getByTestId('sip-registration').filter({ hasText: /^registered$/ }).waitFor({ timeout: 30_000 })
  return { cli, page, dataDir }
}

async function addBuddy(page: Page, aor: string): Promise<void> {
  await page.getByTestId('nav-buddies').click()
  await page.getByTestId('buddy-add-input').fill(aor)
  await page.getByTestId('buddy-add-submit').click()
  await page.locator(`[data-testid="buddy-item"][data-aor="${aor}"]`).waitFor()
}

/** The number on the message-waiting badge; 0 when there is no badge. */
async function waiting(page: Page): Promise<number> {
  const badge = page.getByTestId('mwi-badge')
  if ((await badge.count()) === 0) return 0
  return Number((await badge.textContent({ timeout: 1000 }).catch(() => '0'))?.trim())
}

/** m:ss as seconds. */
async function seconds(text: Promise<string | null>): Promise<number> {
  const [m, s] = ((await text) ?? '').trim().split(':').map(Number)
  return (m ?? 0) * 60 + (s ?? 0)
}

async function callState(page: Page): Promise<string> {
  return ((await page.getByTestId('call-state').textContent({ timeout: 1000 }).catch(() => null)) ?? '').trim()
}

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  lab = await Lab.create(6)
  const holders: Peer[] = []
  for (let i = 0; i < REPLICAS; i++) {
    holders.push(await lab.peer(`sip:holder${i}@mail.test`, { mailbox: MAILBOX, relay: { mode: 'always', sampleMs: 100, cpuLoad: () => ({ process: 0.01, system: 0 }) } }))
  }
  await eventually(async () => (await Promise.all(holders.map((h) => h.mailbox.status()))).every((s) => s.holder.active), (ok) => ok, 'super-nodes holding mailboxes', 30_000)
  const aliceWav = join(await lab.tempDir(), 'alice.wav')
  const bobWav = join(await lab.tempDir(), 'bob.wav')
  await writeToneWav(aliceWav, ALICE_HZ, 10)
  await writeToneWav(bobWav, 1000, 10)
  alice = await startWebPeer(ALICE, aliceWav)
  bob = await startWebPeer(BOB, bobWav)
  bobWavPath = bobWav
  await addBuddy(alice.page, BOB)
  await addBuddy(bob.page, ALICE)
})

after(async () => {
  for (const b of browsers) await b.close().catch(() => {})
  await lab.destroy()
})

test('A calls B, B declines: A leaves a voice message from the call panel and sees it stored', async () => {
  assert.equal(await waiting(bob.page), 0)
  await alice.page.getByTestId('nav-dial').click()
  await alice.page.getByTestId('dial-input').fill(BOB)
  await alice.page.getByTestId('dial-call').click()
  await bob.page.getByTestId('incoming-call').waitFor()
  await bob.page.getByTestId('incoming-decline').click()
  await eventually(() => callState(alice.page), (s) => s === 'ended' || s === '', 'caller after the decline')

  const panel = alice.page.getByTestId('voicemail-leave')
  await panel.waitFor()
  assert.match((await panel.textContent()) ?? '', /did not answer/)
  await alice.page.getByTestId('voicemail-record').click()
  await eventually(() => panel.getAttribute('data-stage'), (s) => s === 'recording', 'recording')
  // The timer runs while recording.
  await eventually(() => seconds(alice.page.getByTestId('voicemail-timer').textContent()), (s) => s >= 2, 'the recording timer')
  await alice.page.screenshot({ path: join(ARTIFACTS, 'voicemail-recording.png') })
  await alice.page.getByTestId('voicemail-stop').click()
  await eventually(() => panel.getAttribute('data-stage'), (s) => s === 'recorded', 'recorded')
  await alice.page.getByTestId('voicemail-send').click()
  const result = alice.page.getByTestId('voicemail-result')
  await result.waitFor({ timeout: 30_000 })
  const state = await eventually(() => result.getAttribute('data-state'), (s) => s !== 'sending', 'the voicemail state', 30_000)
  await alice.page.screenshot({ path: join(ARTIFACTS, 'voicemail-sent.png') })
  assert.ok(state === 'stored' || state === 'delivered', `the voicemail was ${state}: ${await result.textContent()}`)

  // It is in A's voicemail list as left by A, with that state.
  await alice.page.getByTestId('voicemail-close').click()
  await alice.page.getByTestId('nav-voicemail').click()
  const mine = alice.page.locator('[data-testid="voicemail-item"][data-direction="out"]')
  await mine.first().waitFor()
  assert.equal(await mine.count(), 1)
  assert.equal(await mine.first().getAttribute('data-peer'), BOB)
  assert.equal(await waiting(alice.page), 0, 'our own voicemail is not message-waiting for us')
})

test('B checks his mailbox: the message-waiting badge shows it; he plays it and the badge clears', async () => {
  await bob.page.getByTestId('nav-voicemail').click()
  await bob.page.getByTestId('mailbox-check').click()
  const checked = bob.page.getByTestId('mailbox-check-result')
  await checked.waitFor({ timeout: 60_000 })
  assert.equal((await checked.textContent())?.trim(), '· Fetched 1 voice message.')
  await eventually(() => waiting(bob.page), (n) => n === 1, "B's message-waiting badge")
  const item = bob.page.locator('[data-testid="voicemail-item"][data-direction="in"]')
  await item.first().waitFor()
  assert.equal(await item.count(), 1)
  assert.equal(await item.first().getAttribute('data-heard'), 'false')
  assert.equal(await item.first().getAttribute('data-peer'), ALICE)
  await bob.page.screenshot({ path: join(ARTIFACTS, 'voicemail-waiting.png') })

  await item.first().getByTestId('voicemail-play').click()
  const audio = bob.page.getByTestId('voicemail-audio')
  await audio.waitFor()
  // The element loads the recording and plays it.
  const duration = await eventually(() => audio.evaluate((el: HTMLAudioElement) => el.duration), (d) => d > 0, 'the audio element duration')
  assert.ok(duration > 0)
  await eventually(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime), (t) => t > 0, 'playback position')
  // What it plays is Alice's recording: played again from the start through WebAudio, it lasts
  // about as long as she recorded and its loudest frequency is her microphone's tone.
  // (The page's CSP lets media, not fetch(), read blob: URLs, so it is listened to, not decoded.)
  const heard = await audio.evaluate(async (el: HTMLAudioElement) => {
    const ctx = new AudioContext()
    await ctx.resume()
    const analyser = ctx.createAnalyser()
    analyser.fftSize = 8192
    ctx.createMediaElementSource(el).connect(analyser)
    analyser.connect(ctx.destination)
    el.pause()
    el.currentTime = 0
    const ended = new Promise<void>((resolve) => el.addEventListener('ended', () => resolve(), { once: true }))
    const started = performance.now()
    await el.play()
    const sum = new Float32Array(analyser.frequencyBinCount)
    const bins = new Float32Array(analyser.frequencyBinCount)
    let done = false
    void ended.then(() => (done = true))
    while (!done && performance.now() - started < 15_000) {
      await new Promise((r) => setTimeout(r, 100))
      analyser.getFloatFrequencyData(bins)
      for (let b = 0; b < bins.length; b++) sum[b] = (sum[b] as number) + Math.pow(10, (bins[b] as number) / 20)
    }
    let best = 1
    for (let b = 1; b < sum.length; b++) if ((sum[b] as number) > (sum[best] as number)) best = b
    const result = { playedMs: performance.now() - started, hz: (best * ctx.sampleRate) / analyser.fftSize, ended: done, src: el.src }
    await ctx.close()
    return result
  })
  assert.match(heard.src, /^blob:/)
  assert.ok(heard.ended, 'it played to the end')
  assert.ok(heard.playedMs > 1_500 && heard.playedMs < 10_000, `played for ${Math.round(heard.playedMs)} ms`)
  assert.ok(Math.abs(heard.hz - ALICE_HZ) < 25, `the loudest frequency is Alice's tone (${heard.hz} Hz)`)

  await eventually(() => waiting(bob.page), (n) => n === 0, "B's badge after playing")
  assert.equal(await item.first().getAttribute('data-heard'), 'true')
  await bob.page.screenshot({ path: join(ARTIFACTS, 'voicemail-heard.png') })
})

test('a chat message to B while B is offline shows "stored for delivery"; B, back, sees it marked as sent while he was offline', async () => {
  assert.equal(await bob.cli.stop(), 0)
  await alice.page.getByTestId('nav-buddies').click()
  const bobRow = alice.page.locator(`[data-testid="buddy-item"][data-aor="${BOB}"]`)
  await eventually(() => bobRow.getAttribute('data-presence'), (p) => p === 'offline', 'B after his peer stopped', 60_000)
  await bobRow.click()
  await alice.page.getByTestId('chat-input').fill('call me back')
  await alice.page.getByTestId('chat-send').click()
  const sent = alice.page.getByTestId('chat-message').filter({ hasText: 'call me back' })
  await eventually(() => sent.getAttribute('data-state'), (s) => s === 'stored', "A's message state", 90_000)
  assert.equal((await sent.getByTestId('message-state').textContent())?.trim(), '· stored for delivery')
  await alice.page.screenshot({ path: join(ARTIFACTS, 'chat-stored.png') })

  // B's peer fetches its mailbox as it starts.
  bob = await startWebPeer(BOB, bobWavPath, bob)
  await bob.page.getByTestId('nav-buddies').click()
  await bob.page.locator(`[data-testid="buddy-item"][data-aor="${ALICE}"]`).click()
  const got = bob.page.getByTestId('chat-message').filter({ hasText: 'call me back' })
  await got.waitFor({ timeout: 60_000 })
  assert.equal(await got.getAttribute('data-direction'), 'in')
  assert.equal(await got.getAttribute('data-mailed'), 'true')
  assert.equal((await got.getByTestId('message-mailed').textContent())?.trim(), '· sent while you were offline')
  await bob.page.screenshot({ path: join(ARTIFACTS, 'chat-mailed.png') })
})
