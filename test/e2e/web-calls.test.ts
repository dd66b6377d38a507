/// <reference lib="dom" />
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { Lab } from '../helpers/overlay.js'
import { CliProcess } from '../helpers/cli.js'
import {
  EVALUATE_SHIM,
  MEDIA_PROBE,
  audioStats,
  dominantReceivedFrequency,
  eventually,
  launchChromium,
  receivedTelephoneEvents,
  writeToneWav
} from '../helpers/browser.js'

/**
 * Two `parley serve --web` peers on a local testnet, each driven through its
 * own UI in its own Chromium (so each can have its own fake microphone: a
 * 440 Hz tone for Alice, 1000 Hz for Bob).
 */
const ALICE = 'sip:alice@example.org'
const BOB = 'sip:bob@example.org'
const ALICE_HZ = 440
const BOB_HZ = 1000
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e')

let lab: Lab
const browsers: Browser[] = []
let alice: { cli: CliProcess; page: Page }
let bob: { cli: CliProcess; page: Page }

async function startWebPeer(aor: string, wav: string): Promise<{ cli: CliProcess; page: Page }> {
  const dataDir = await lab.tempDir()
  const cli = CliProcess.start(['serve', '--data-dir', dataDir, '--aor', aor, '--bootstrap', lab.bootstrap.join(','), '--dht-host', '127.0.0.1', '--web', '0'])
  lab.onTeardown(async () => void (await cli.stop()))
  const web = await cli.waitFor((l) => l.event === 'web', 'web line')
  await cli.waitFor((l) => l.event === 'ready', 'ready line')
  const browser = await launchChromium({ fakeAudioWav: wav })
  browsers.push(browser)
  const context = await browser.newContext()
  await context.addInitScript(EVALUATE_SHIM)
  await context.addInitScript(MEDIA_PROBE)
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error(`[${aor}] page error: ${err.message}`))
  await page.goto(String(web.url))
  await page.waitForURL(/\/app\//)
  await page.getByTestId('sip-registration').filter({ hasText: /^registered$/ }).waitFor({ timeout: 30_000 })
  return { cli, page }
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

async function callState(page: Page): Promise<string> {
  return ((await page.getByTestId('call-state').textContent({ timeout: 1000 }).catch(() => null)) ?? '').trim()
}

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  lab = await Lab.create(8)
  const aliceWav = join(await lab.tempDir(), 'alice.wav')
  const bobWav = join(await lab.tempDir(), 'bob.wav')
  await writeToneWav(aliceWav, ALICE_HZ)
  await writeToneWav(bobWav, BOB_HZ)
  alice = await startWebPeer(ALICE, aliceWav)
  bob = await startWebPeer(BOB, bobWav)
})

after(async () => {
  for (const b of browsers) await b.close().catch(() => {})
  await lab.destroy()
})

test('A adds B and sees B available, then away when B changes it', async () => {
  await alice.page.getByTestId('nav-buddies').click()
  await alice.page.getByTestId('buddy-add-input').fill(BOB)
  await alice.page.getByTestId('buddy-add-submit').click()
  const bobRow = alice.page.locator(`[data-testid="buddy-item"][data-aor="${BOB}"]`)
  await bobRow.waitFor()
  await eventually(() => bobRow.getAttribute('data-presence'), (p) => p === 'available', 'B as A sees it')
  await screenshot(alice.page, 'buddies')

  await bob.page.getByTestId('presence-select').selectOption('away')
  await eventually(() => bobRow.getAttribute('data-presence'), (p) => p === 'away', 'B after choosing away')
  await bob.page.getByTestId('presence-select').selectOption('available')
  await eventually(() => bobRow.getAttribute('data-presence'), (p) => p === 'available', 'B back to available')
})

test('a chat message from A appears in B\'s conversation and shows delivered at A', async () => {
  await alice.page.locator(`[data-testid="buddy-item"][data-aor="${BOB}"]`).click()
  await alice.page.getByTestId('chat-input').fill('hello from alice')
  await alice.page.getByTestId('chat-send').click()
  const sent = alice.page.getByTestId('chat-message').filter({ hasText: 'hello from alice' })
  await eventually(() => sent.getAttribute('data-state'), (s) => s === 'delivered', 'A\'s message state')
  await screenshot(alice.page, 'chat')

  await bob.page.getByTestId('nav-buddies').click()
  await bob.page.getByTestId('buddy-add-input').fill(ALICE)
  await bob.page.getByTestId('buddy-add-submit').click()
  const aliceRow = bob.page.locator(`[data-testid="buddy-item"][data-aor="${ALICE}"]`)
  await aliceRow.click()
  await bob.page.getByTestId('chat-message').filter({ hasText: 'hello from alice' }).waitFor()
})

test('A calls B, B answers: audio flows both ways and each hears the other\'s tone', async () => {
  await alice.page.getByTestId('nav-dial').click()
  await alice.page.getByTestId('dial-input').fill(BOB)
  await alice.page.getByTestId('dial-call').click()
  await eventually(() => callState(alice.page), (s) => s === 'ringing', 'caller state')
  await bob.page.getByTestId('incoming-call').waitFor()
  await screenshot(bob.page, 'incoming')
  await bob.page.getByTestId('incoming-answer').click()
  await eventually(() => callState(alice.page), (s) => s === 'connected', 'caller state')
  await eventually(() => callState(bob.page), (s) => s === 'connected', 'callee state')

  for (const [who, page] of [['A', alice.page], ['B', bob.page]] as const) {
    await eventually(() => audioStats(page), (s) => s !== null && s.packetsReceived > 100 && s.totalAudioEnergy > 0, `${who}'s received audio`)
  }
  const bobHears = await eventually(() => dominantReceivedFrequency(bob.page), (hz) => Math.abs(hz - ALICE_HZ) < 25, 'the tone B hears')
  const aliceHears = await eventually(() => dominantReceivedFrequency(alice.page), (hz) => Math.abs(hz - BOB_HZ) < 25, 'the tone A hears')
  assert.ok(bobHears > 0 && aliceHears > 0)
  await screenshot(alice.page, 'call')
})

test('DTMF digits from A reach B as RFC 4733 telephone-events', async () => {
  const before = (await receivedTelephoneEvents(bob.page)).length
  await alice.page.getByTestId('dtmf-1').click()
  await alice.page.getByTestId('dtmf-5').click()
  await alice.page.getByTestId('dtmf-hash').click()
  // Keyboard digits work too while in a call.
  await alice.page.locator('body').press('9')
  const events = await eventually(
    async () => (await receivedTelephoneEvents(bob.page)).slice(before),
    (e) => e.length >= 4,
    'telephone-events at B'
  )
  assert.deepEqual(events.slice(0, 4), [1, 5, 11, 9])
})

test('hold stops the media and resume restarts it', async () => {
  await alice.page.getByTestId('call-hold').click()
  await eventually(() => callState(alice.page), (s) => s === 'on-hold', 'state after hold')
  // Held: Bob's received packet count stops moving.
  let last = -1
  await eventually(
    async () => {
      const now = (await audioStats(bob.page))?.packetsReceived ?? 0
      const still = now === last
      last = now
      await new Promise((r) => setTimeout(r, 500))
      return still
    },
    (still) => still,
    'media to Bob stopping while on hold'
  )
  await alice.page.getByTestId('call-hold').click()
  await eventually(() => callState(alice.page), (s) => s === 'connected', 'state after resume')
  const held = (await audioStats(bob.page))?.packetsReceived ?? 0
  await eventually(() => audioStats(bob.page), (s) => (s?.packetsReceived ?? 0) > held + 50, 'media to Bob after resume')
})

test('hanging up ends the call on both sides', async () => {
  await alice.page.getByTestId('call-hangup').click()
  await eventually(() => callState(alice.page), (s) => s === 'ended' || s === '', 'caller after hang-up')
  await eventually(() => callState(bob.page), (s) => s === 'ended' || s === '', 'callee after hang-up')
  await alice.page.getByTestId('nav-history').click()
  await alice.page.getByTestId('history-item').first().waitFor()
  assert.equal(await alice.page.getByTestId('history-item').first().getAttribute('data-outcome'), 'answered')
  await screenshot(alice.page, 'history')
})

test('the overlay map draws the trace of a lookup', async () => {
  await alice.page.getByTestId('nav-overlay').click()
  await alice.page.getByTestId('lookup-input').fill(BOB)
  await alice.page.getByTestId('lookup-submit').click()
  const map = alice.page.getByTestId('overlay-map').first()
  await map.waitFor()
  const hops = await map.locator('[data-testid="node"]').count()
  assert.ok(hops >= 1, `the map shows the contacted nodes (${hops})`)
  await screenshot(alice.page, 'overlay-map')
  await alice.page.getByTestId('nav-node').click()
  assert.equal((await alice.page.getByTestId('node-role').textContent())?.trim(), 'client')
  await screenshot(alice.page, 'node')
})

test('B shows offline at A once B\'s peer stops', async () => {
  await alice.page.getByTestId('nav-buddies').click()
  const bobRow = alice.page.locator(`[data-testid="buddy-item"][data-aor="${BOB}"]`)
  assert.equal(await bobRow.getAttribute('data-presence'), 'available')
  assert.equal(await bob.cli.stop(), 0)
  await eventually(() => bobRow.getAttribute('data-presence'), (p) => p === 'offline', 'B after its peer stopped')
})
