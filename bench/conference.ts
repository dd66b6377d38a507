/// <reference lib="dom" />
/**
 * Conference benchmark: `parley serve --web` peers on a local testnet, each page
 * in its own Chromium with its own tone as microphone. The conference grows from
 * 3 to --max members (default 10); at each size:
 *   - CPU of the mixer's browser (all its processes) against a plain member's,
 *     the peer in the same run, over --cpu-seconds;
 *   - added latency of the mixer: one member (the talker) sends 120 ms beeps once
 *     a second; the time from the mixer's page hearing a beep (after its mixing
 *     graph) to a member's page hearing it (after encode, the network, the jitter
 *     buffer and decode) is what going through a mixer adds to a direct call.
 * At 5 members, --handoffs planned handoffs (the mixer leaves and is invited back)
 * and --crashes crash handoffs (the mixer's browser and peer SIGKILLed, a new member
 * takes its place): the longest gap in a continuous tone at a listening member.
 * Then on to --max; every page has its own Chromium on this one machine, so the
 * size where the conference no longer settles is recorded (`brokeAt`).
 *
 *   npm run bench:conference -- [--max 10] [--handoffs 5] [--crashes 2] [--cpu-seconds 5]
 *
 * JSON in bench/results/conference-latest.json; progress on stderr.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { startGapWatch, stopGapWatch, writeToneWav } from '../test/helpers/browser.js'
import {
  CONFERENCE_AUDIO,
  answerIncoming,
  browserPid,
  conferencePanel,
  killMember,
  rosterSettles,
  startConferenceMember,
  treeCpuSeconds,
  type ConferenceMember
} from '../test/helpers/conference.js'
import { Lab } from '../test/helpers/overlay.js'
import { summary } from './summary.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')
/** Tones 230 Hz apart from 410 Hz: no low harmonic of one falls within the analyser's ±12 Hz of another. */
const toneOf = (i: number) => 410 + 230 * i
const BEEP_MS = 120

/** Start noting, in the page, the wall-clock times the tone `hz` starts in what the conference plays. */
function startOnsets(page: Page, hz: number): Promise<void> {
  return page.evaluate(
    ({ selector, hz }) => {
      const w = window as unknown as { __onsets?: { stop: () => number[] } }
      const ctx = new AudioContext()
      const analyser = ctx.createAnalyser()
      // 23 Hz bins: the other members' tones (230 Hz away) stay out of the beep's bin.
      analyser.fftSize = 2048
      analyser.smoothingTimeConstant = 0
      const bins = new Float32Array(analyser.frequencyBinCount)
      const onsets: number[] = []
      let stream: MediaStream | null = null
      let source: MediaStreamAudioSourceNode | null = null
      let quietSince = performance.now()
      let on = false
      const timer = setInterval(() => {
        const el = document.querySelector(selector) as HTMLMediaElement | null
        const now = (el?.srcObject as MediaStream | null) ?? null
        if (now !== stream) {
          source?.disconnect()
          source = now && now.getAudioTracks().length ? ctx.createMediaStreamSource(now) : null
          source?.connect(analyser)
          stream = now
        }
        if (!source) return
        analyser.getFloatFrequencyData(bins)
        const b = Math.round((hz * analyser.fftSize) / ctx.sampleRate)
        const loud = Math.max(bins[b - 1] ?? -200, bins[b] ?? -200, bins[b + 1] ?? -200) > -60
        const t = performance.now()
        if (loud && !on && t - quietSince > 500) onsets.push(performance.timeOrigin + t)
        if (loud) on = true
        else if (on) {
          on = false
          quietSince = t
        }
      }, 4)
      void ctx.resume()
      w.__onsets = {
        stop: () => {
          clearInterval(timer)
          void ctx.close()
          return onsets
        }
      }
    },
    { selector: CONFERENCE_AUDIO, hz }
  )
}

const stopOnsets = (page: Page) => page.evaluate(() => (window as unknown as { __onsets: { stop: () => number[] } }).__onsets.stop())

/** For each onset at the mixer, the first at the listener within 600 ms after it. */
function pairDelays(atMixer: number[], atListener: number[]): number[] {
  const out: number[] = []
  for (const t of atMixer) {
    const next = atListener.find((u) => u >= t && u - t < 600)
    if (next !== undefined) out.push(next - t)
  }
  return out
}

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { max: { type: 'string' }, handoffs: { type: 'string' }, crashes: { type: 'string' }, 'cpu-seconds': { type: 'string' } }, strict: true })
  const max = Math.min(10, Math.max(3, Number(values.max ?? 10)))
  const handoffs = Number(values.handoffs ?? 5)
  const crashes = Number(values.crashes ?? 2)
  const cpuSeconds = Number(values['cpu-seconds'] ?? 5)
  const lab = await Lab.create(8)
  const growth: Array<{ members: number; mixerCpuPct: number; memberCpuPct: number; addedLatencyMs: ReturnType<typeof summary>; delays: number[] }> = []
  const planned: number[] = []
  const crashed: number[] = []
  /** The size at which the conference no longer settled (every page on one 2-core machine), if any. */
  let brokeAt: number | null = null
  try {
    // Members start as the conference grows: at each size only its members' browsers load the machine.
    const people: ConferenceMember[] = []
    // One member talks in beeps (latency: `talker`); everyone else holds a tone. A member
    // started after the talker was killed takes its place.
    let talker: ConferenceMember | null = null
    const start = async (i: number) => {
      const name = `m${i}`
      const wav = join(await lab.tempDir(), `${name}.wav`)
      const beeps = i === 1 || (i > 1 && talker !== null && !talker.alive)
      await writeToneWav(wav, toneOf(i), 10, 48_000, beeps ? BEEP_MS : undefined)
      const member = await startConferenceMember(lab, name, toneOf(i), wav)
      people.push(member)
      if (beeps) talker = member
      log(`started ${name} (${toneOf(i)} Hz${beeps ? ', beeps' : ''})`)
    }
    await start(0)
    await start(1)
    const [first, second] = people as [ConferenceMember, ConferenceMember]
    const beeper = () => talker!
    await first.page.getByTestId('nav-dial').click()
    await first.page.getByTestId('dial-input').fill(second.aor)
    await first.page.getByTestId('dial-call').click()
    await answerIncoming(second)
    await first.page.getByTestId('call-state').filter({ hasText: /^connected$/ }).waitFor({ timeout: 20_000 })
    const inConference = [first, second]
    const live = () => inConference.filter((x) => x.alive)
    const mixerOf = async () => (await conferencePanel(live()[0]!.page)).mixer

    /** Call one more member in (a new page and peer), from the mixer's page. */
    const addMember = async (n: number) => {
      await start(people.length)
      const joining = people[people.length - 1]!
      if (n === 3) {
        await first.page.getByTestId('call-add-input').fill(joining.aor)
        await first.page.getByTestId('call-add').click()
      } else {
        const mixerAor = await mixerOf()
        const inviter = live().find((x) => x.aor === mixerAor) ?? live()[0]!
        await inviter.page.getByTestId('conference-add-input').fill(joining.aor)
        await inviter.page.getByTestId('conference-add').click()
      }
      await answerIncoming(joining)
      inConference.push(joining)
    }

    /** CPU of the mixer's and a member's browser, and the mixer's added latency, at this size. */
    const measure = async (n: number, mixer: string) => {
      const mixerMember = live().find((x) => x.aor === mixer)!
      const listener = live().find((x) => x !== mixerMember && x !== beeper())!
      await new Promise((r) => setTimeout(r, 2000))
      const pids = [browserPid(mixerMember), browserPid(listener)]
      const before = pids.map(treeCpuSeconds)
      const t0 = Date.now()
      await new Promise((r) => setTimeout(r, cpuSeconds * 1000))
      const wall = (Date.now() - t0) / 1000
      const [mixerCpuPct, memberCpuPct] = pids.map((pid, i) => Math.round(((treeCpuSeconds(pid) - before[i]!) / wall) * 1000) / 10) as [number, number]
      let delays: number[] = []
      if (mixerMember !== beeper() && beeper().alive) {
        await Promise.all([startOnsets(mixerMember.page, beeper().hz), startOnsets(listener.page, beeper().hz)])
        await new Promise((r) => setTimeout(r, 10_000))
        const [atMixer, atListener] = await Promise.all([stopOnsets(mixerMember.page), stopOnsets(listener.page)])
        delays = pairDelays(atMixer, atListener)
      }
      const addedLatencyMs = summary(delays)
      growth.push({ members: n, mixerCpuPct, memberCpuPct, addedLatencyMs, delays: delays.map((d) => Math.round(d)) })
      log(`${n} members: mixer ${mixerMember.name} CPU ${mixerCpuPct} % (a member: ${memberCpuPct} %), added latency p50 ${addedLatencyMs.p50} ms (${delays.length} beeps)`)
    }

    // Handoffs at HANDOFF_SIZE members (what this machine carries comfortably), then growth to max.
    const handoffSize = Math.min(max, 5)
    for (let n = 3; n <= handoffSize; n++) {
      await addMember(n)
      await measure(n, await rosterSettles(live(), `roster of ${n}`, 90_000))
    }

    /** A listener and a talker (holding a tone) other than the mixer. */
    const pick = (mixer: ConferenceMember) => {
      const others = live().filter((x) => x !== mixer && x !== beeper())
      return { listener: others[0]!, talker: others[1]! }
    }

    for (let r = 0; r < handoffs; r++) {
      const mixerAor = await mixerOf()
      const mixer = live().find((x) => x.aor === mixerAor)!
      const { listener, talker } = pick(mixer)
      await startGapWatch(listener.page, CONFERENCE_AUDIO, talker.hz, -70)
      await mixer.page.getByTestId('conference-leave').click()
      mixer.alive = false
      await rosterSettles(live(), `roster after planned handoff ${r}`, 90_000)
      await new Promise((res) => setTimeout(res, 1500))
      const gap = Math.round(await stopGapWatch(listener.page))
      planned.push(gap)
      log(`planned handoff ${r}: ${mixer.name} left, gap at ${listener.name} ${gap} ms`)
      // Invited back by a member, so the next round has the same size.
      await mixer.page.getByTestId('conference-panel').waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {})
      await listener.page.getByTestId('conference-add-input').fill(mixer.aor)
      await listener.page.getByTestId('conference-add').click()
      await answerIncoming(mixer)
      mixer.alive = true
      await rosterSettles(live(), `roster after ${mixer.name} came back`, 90_000)
    }

    for (let r = 0; r < crashes; r++) {
      const mixerAor = await mixerOf()
      const mixer = live().find((x) => x.aor === mixerAor)!
      const { listener, talker } = pick(mixer)
      await startGapWatch(listener.page, CONFERENCE_AUDIO, talker.hz, -70)
      await killMember(mixer)
      await rosterSettles(live(), `roster after crash ${r}`, 90_000)
      await new Promise((res) => setTimeout(res, 1500))
      const gap = Math.round(await stopGapWatch(listener.page))
      crashed.push(gap)
      log(`crash handoff ${r}: ${mixer.name} killed, gap at ${listener.name} ${gap} ms`)
      // A new member takes the dead one's place.
      await addMember(live().length + 1)
      await rosterSettles(live(), `roster after a new member replaced ${mixer.name}`, 90_000)
    }

    for (let n = live().length + 1; n <= max; n++) {
      await addMember(n)
      let mixer: string
      try {
        mixer = await rosterSettles(live(), `roster of ${n}`, 90_000)
      } catch (err) {
        brokeAt = n
        log(`at ${n} members the conference did not settle on this machine: ${(err as Error).message.slice(0, 300)}`)
        break
      }
      await measure(n, mixer)
    }
  } finally {
    await lab.destroy()
  }
  const result = {
    benchmark: 'conference',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, chromium: execFileSync('/usr/bin/chromium', ['--version']).toString().trim() },
    params: { max, handoffs, crashes, cpuSeconds, beepMs: BEEP_MS, handoffSize: Math.min(max, 5) },
    growth,
    brokeAt,
    handoffGapMs: { planned: summary(planned), crash: summary(crashed), samples: { planned, crash: crashed } }
  }
  await mkdir(RESULTS_DIR, { recursive: true })
  await writeFile(join(RESULTS_DIR, 'conference-latest.json'), JSON.stringify(result, null, 2) + '\n')
  log(JSON.stringify({ growth: growth.map(({ delays: _d, ...g }) => g), handoffGapMs: result.handoffGapMs }, null, 2))
}

await main()
