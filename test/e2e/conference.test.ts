/// <reference lib="dom" />
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Lab } from '../helpers/overlay.js'
import { TestUa } from '../helpers/sip-ua.js'
import { AccountStore } from '../../app/registrar/account-store.js'
import { eventually, playedLevels, startGapWatch, stopGapWatch, writeToneWav } from '../helpers/browser.js'
import {
  CONFERENCE_AUDIO,
  answerIncoming,
  conferencePanel,
  everyoneHearsTheOthers,
  killMember,
  rosterSettles,
  startConferenceMember,
  type ConferenceMember
} from '../helpers/conference.js'

/**
 * Conferences through the UI: five `parley serve --web` peers on a local
 * testnet, each page in its own Chromium with its own tone as microphone. What
 * each member plays (the conference's audio element) is analysed by frequency:
 * it must hold every other member's tone and not its own.
 */
const PEOPLE: Array<[string, number]> = [
  ['anna', 450],
  ['ben', 700],
  ['cleo', 950],
  ['dev', 1250],
  ['eve', 1550]
]

let lab: Lab
const members = new Map<string, ConferenceMember>()
const m = (name: string) => members.get(name)!
const live = () => [...members.values()].filter((x) => x.alive)

before(async () => {
  lab = await Lab.create(8)
  for (const [name, hz] of PEOPLE) {
    const wav = join(await lab.tempDir(), `${name}.wav`)
    await writeToneWav(wav, hz, 10)
    members.set(name, await startConferenceMember(lab, name, hz, wav))
  }
})

after(() => lab.destroy())

test('four members: each hears the other three and not itself', async () => {
  const [anna, ben, cleo, dev] = [m('anna'), m('ben'), m('cleo'), m('dev')]
  m('eve').alive = false // joins in the next test
  await anna.page.getByTestId('nav-dial').click()
  await anna.page.getByTestId('dial-input').fill(ben.aor)
  await anna.page.getByTestId('dial-call').click()
  await answerIncoming(ben)
  await anna.page.getByTestId('call-state').filter({ hasText: /^connected$/ }).waitFor({ timeout: 20_000 })

  await anna.page.getByTestId('call-add-input').fill(cleo.aor)
  await anna.page.getByTestId('call-add').click()
  await answerIncoming(cleo)
  await anna.page.getByTestId('conference-add-input').fill(dev.aor)
  await anna.page.getByTestId('conference-add').click()
  await answerIncoming(dev)

  const mixer = await rosterSettles(live(), 'roster of four')
  assert.ok([anna, ben, cleo, dev].some((x) => x.aor === mixer))
  await everyoneHearsTheOthers(live(), 'four members')
  await anna.page.screenshot({ path: join(process.cwd(), 'test-artifacts', 'e2e', 'conference.png'), fullPage: true }).catch(() => {})
})

test('a fifth member invited by a member (not the mixer) joins and hears everyone', async () => {
  const eve = m('eve')
  eve.alive = true
  const { mixer } = await conferencePanel(m('anna').page)
  const asker = live().find((x) => x.aor !== mixer && x !== eve)!
  await asker.page.getByTestId('conference-add-input').fill(eve.aor)
  await asker.page.getByTestId('conference-add').click()
  await answerIncoming(eve)
  await rosterSettles(live(), 'roster of five')
  await everyoneHearsTheOthers(live(), 'five members')
})

/** A minimal audio offer: the rules answer before any media is negotiated. */
const OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n')

test("strangers' conference INVITEs get the rules' answers and ring nobody: 302 to the live mixer, 486 without ;handoff, 481 for another conference", async () => {
  const page = m('anna').page
  const { mixer } = await conferencePanel(page)
  const id = await page.getByTestId('conference-panel').getAttribute('data-conference')
  assert.ok(mixer && id)
  const member = live().find((x) => x.aor !== mixer)!
  // A standard SIP phone at a peer of its own sends what a member moving to a new mixer would.
  const dataDir = await lab.tempDir()
  await (await AccountStore.open(dataDir)).add({ aor: 'sip:probe@example.org', password: 'probe-pw' })
  const gateway = await lab.peer('sip:gateway@parley.test', { dataDir, sip: { udp: 0, dns: false } })
  const probe = await TestUa.open('sip:probe@example.org', gateway.status().sip.transports.find((t) => t.transport === 'UDP')!.port)
  lab.onTeardown(async () => probe.close())
  assert.equal((await probe.register({ password: 'probe-pw' })).status, 200)
  let n = 0
  const invite = (to: string, header: string) =>
    probe.send(probe.request('INVITE', to, { callId: `probe-${++n}@test`, headers: [['X-Parley-Conference', header], ['Content-Type', 'application/sdp']], body: OFFER }))

  const moved = await invite(member.aor, `${id};handoff`)
  assert.equal(moved.status, 302, 'a member whose mixer is alive sends a mover to it')
  assert.equal(/<([^>]+)>/.exec(moved.get('Contact') ?? '')?.[1], mixer)
  assert.equal((await invite(mixer, id)).status, 486, 'joining without ;handoff is not a move')
  assert.equal((await invite(member.aor, 'a1b2c3d4e5f60718;handoff')).status, 481, 'a move into a conference the callee is not in')
  for (const x of live()) assert.equal(await x.page.getByTestId('incoming-call').count(), 0, `${x.name} must not ring`)
  assert.equal(await rosterSettles(live(), 'the same five after the strangers'), mixer)
})

test('the roster shows who speaks; a member who mutes leaves every mix and shows muted to all', async () => {
  const people = live()
  const { mixer } = await conferencePanel(people[0]!.page)
  const quiet = people.find((x) => x.aor !== mixer)!
  const speakingAt = (x: ConferenceMember) => x.page.locator(`[data-testid="conference-member"][data-aor="${quiet.aor}"]`).getAttribute('data-speaking')
  const mutedAt = (x: ConferenceMember) => x.page.locator(`[data-testid="conference-member"][data-aor="${quiet.aor}"]`).getAttribute('data-muted')
  const others = people.filter((x) => x !== quiet)
  await eventually(() => Promise.all(others.map(speakingAt)), (v) => v.every((s) => s === 'true'), `${quiet.name} speaking, as the others see it`)

  await quiet.page.getByTestId('conference-mute').click()
  await eventually(() => Promise.all(others.map(mutedAt)), (v) => v.every((s) => s === 'true'), `${quiet.name} muted, as the others see it`)
  await eventually(() => Promise.all(others.map(speakingAt)), (v) => v.every((s) => s === 'false'), `${quiet.name} quiet once muted`)
  for (const x of others) {
    await eventually(
      () => playedLevels(x.page, CONFERENCE_AUDIO, [quiet.hz, x === others[0] ? others[1]!.hz : others[0]!.hz]),
      (l) => l !== null && l[1]! - l[0]! >= 15,
      `${x.name} no longer hears ${quiet.name} (dB at ${quiet.hz} Hz and at another member's tone)`,
      15_000
    )
  }
  await quiet.page.getByTestId('conference-mute').click()
  await eventually(() => Promise.all(others.map(mutedAt)), (v) => v.every((s) => s === 'false'), `${quiet.name} unmuted`)
  await everyoneHearsTheOthers(people, 'after unmuting')
})

test('the mixer hangs up: the others elect the same successor and keep hearing each other', async (t) => {
  const { mixer: mixerAor } = await conferencePanel(m('anna').page)
  const mixer = live().find((x) => x.aor === mixerAor)!
  const listener = live().find((x) => x !== mixer)!
  const talker = live().find((x) => x !== mixer && x !== listener)!
  await startGapWatch(listener.page, CONFERENCE_AUDIO, talker.hz, -70)
  await mixer.page.getByTestId('conference-leave').click()
  mixer.alive = false
  await mixer.page.getByTestId('conference-panel').waitFor({ state: 'detached', timeout: 20_000 })
  const successor = await rosterSettles(live(), 'roster after the mixer left')
  assert.notEqual(successor, mixerAor)
  await everyoneHearsTheOthers(live(), 'after a planned handoff')
  t.diagnostic(`audio gap at ${listener.name} for ${talker.name}: ${Math.round(await stopGapWatch(listener.page))} ms`)
})

test("the mixer's app is killed (SIGKILL): the others detect it, elect a successor and keep hearing each other", async (t) => {
  const { mixer: mixerAor } = await conferencePanel(live()[0]!.page)
  const mixer = live().find((x) => x.aor === mixerAor)!
  const listener = live().find((x) => x !== mixer)!
  const talker = live().find((x) => x !== mixer && x !== listener)!
  await startGapWatch(listener.page, CONFERENCE_AUDIO, talker.hz, -70)
  await killMember(mixer)
  const successor = await rosterSettles(live(), 'roster after the mixer died')
  assert.notEqual(successor, mixerAor)
  await everyoneHearsTheOthers(live(), 'after the mixer died')
  t.diagnostic(`audio gap at ${listener.name} for ${talker.name}: ${Math.round(await stopGapWatch(listener.page))} ms`)
})
