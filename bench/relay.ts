/// <reference lib="dom" />
/**
 * Relay benchmark, on loopback in one run:
 *   - added one-way latency of a TURN-relayed stream versus the direct path between
 *     the same two Chromium pages (timestamps sent over a data channel on each path,
 *     both pages reading the same clock; and the audio stream's RTCP round trip);
 *   - CPU per relayed call leg (this process runs the TURN server; Chromium's own CPU excluded);
 *   - how many relayed call legs one super-node carries before af() crosses the
 *     demotion threshold, from the measured CPU and bytes per call.
 *
 *   npm run bench:relay -- [--messages 300] [--calls 4] [--seconds 10]
 *
 * JSON in bench/results/relay-latest.json; summary on stderr.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { EVALUATE_SHIM, launchChromium } from '../test/helpers/browser.js'
import { TurnService } from '../app/relay/turn-service.js'
import { mintTurnCredentials, newTurnSecret } from '../app/relay/turn-credentials.js'
import { annoyance, THRESHOLDS } from '../app/relay/annoyance.js'
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from '../app/api/contract.js'
import { silentLogger } from '../app/log.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')
const { values } = parseArgs({ options: { messages: { type: 'string' }, calls: { type: 'string' }, seconds: { type: 'string' } } })
const MESSAGES = Number(values.messages ?? 300)
const CALLS = Number(values.calls ?? 4)
const SECONDS = Number(values.seconds ?? 10)

type Ice = { urls: string; username: string; credential: string } | null

/** A peer connection pair between two pages with audio and a data channel (each side relayed with its own credentials, or direct); resolves when connected. */
async function connectPair(a: Page, b: Page, relay: (() => Ice) | null, name: string): Promise<void> {
  const setup = (p: Page, initiator: boolean, ice: Ice) =>
    p.evaluate(
      async ({ ice, name, initiator }) => {
        const w = window as unknown as Record<string, RTCPeerConnection | RTCDataChannel | number[]>
        const pc = new RTCPeerConnection(ice ? { iceServers: [ice], iceTransportPolicy: 'relay' } : {})
        w[`pc-${name}`] = pc
        const mic = await navigator.mediaDevices.getUserMedia({ audio: true })
        for (const t of mic.getTracks()) pc.addTrack(t, mic)
        const delays: number[] = []
        w[`delays-${name}`] = delays
        const onChannel = (dc: RTCDataChannel) => {
          w[`dc-${name}`] = dc
          dc.onmessage = (e) => delays.push(performance.timeOrigin + performance.now() - Number(e.data))
        }
        if (initiator) onChannel(pc.createDataChannel('t', { ordered: false, maxRetransmits: 0 }))
        else pc.ondatachannel = (e) => onChannel(e.channel)
      },
      { ice, name, initiator }
    )
  const describe = (p: Page, remote: RTCSessionDescriptionInit | null) =>
    p.evaluate(
      async ({ remote, name }) => {
        const pc = (window as unknown as Record<string, RTCPeerConnection>)[`pc-${name}`]!
        if (remote) await pc.setRemoteDescription(remote)
        if (remote?.type === 'answer') return null
        await pc.setLocalDescription(remote ? await pc.createAnswer() : await pc.createOffer())
        if (pc.iceGatheringState !== 'complete') {
          await new Promise<void>((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()))
        }
        return { type: pc.localDescription!.type, sdp: pc.localDescription!.sdp }
      },
      { remote, name }
    )
  await setup(a, true, relay?.() ?? null)
  await setup(b, false, relay?.() ?? null)
  const offer = await describe(a, null)
  const answer = await describe(b, offer)
  await describe(a, answer)
  await a.waitForFunction((name) => (window as unknown as Record<string, RTCDataChannel>)[`dc-${name}`]?.readyState === 'open', name, { timeout: 20_000 })
}

/** Send timestamps a → b over the pair's data channel; median and p95 one-way delay at b. */
async function oneWay(a: Page, b: Page, name: string): Promise<{ p50: number; p95: number }> {
  await a.evaluate(
    async ({ name, n }) => {
      const dc = (window as unknown as Record<string, RTCDataChannel>)[`dc-${name}`]!
      for (let i = 0; i < n; i++) {
        dc.send(String(performance.timeOrigin + performance.now()))
        await new Promise((r) => setTimeout(r, 10))
      }
    },
    { name, n: MESSAGES }
  )
  await new Promise((r) => setTimeout(r, 300))
  const delays = await b.evaluate((name) => (window as unknown as Record<string, number[]>)[`delays-${name}`]!, name)
  return { p50: quantile(delays, 0.5), p95: quantile(delays, 0.95) }
}

/** The audio stream's mean RTCP round-trip time (remote-inbound-rtp), ms. */
function audioRtt(p: Page, name: string): Promise<number | null> {
  return p.evaluate(async (name) => {
    const pc = (window as unknown as Record<string, RTCPeerConnection>)[`pc-${name}`]!
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'remote-inbound-rtp' && s.kind === 'audio' && s.roundTripTimeMeasurements > 0) return (s.totalRoundTripTime / s.roundTripTimeMeasurements) * 1000
    }
    return null
  }, name)
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y)
  return Math.round((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN) * 100) / 100
}

function cpuOver(ms: number): Promise<number> {
  const start = process.cpuUsage()
  const t0 = performance.now()
  return new Promise((resolve) =>
    setTimeout(() => {
      const used = process.cpuUsage(start)
      resolve((used.user + used.system) / 1000 / (performance.now() - t0)) // share of one core
    }, ms)
  )
}

/** The smallest number of relayed call legs at which af() exceeds the demotion threshold. */
function callsUntilDemotion(limits: RelayLimits, cpuPerLeg: number, bytesPerLegPerS: number, baseCpu: number): number {
  const cores = os.cpus().length
  for (let n = 1; n <= 100_000; n++) {
    const a = annoyance(
      {
        cpuProcess: (n * cpuPerLeg) / cores,
        cpuSystem: Math.min(1, baseCpu + (n * cpuPerLeg) / cores),
        bytesInPerS: (n * bytesPerLegPerS) / 2,
        bytesOutPerS: (n * bytesPerLegPerS) / 2,
        relayBytesPerS: n * bytesPerLegPerS,
        relayedCalls: n,
        uptimeS: 3600,
        firewalled: false,
        randomized: false,
        idleS: null,
        onBattery: null
      },
      limits
    )
    if (a.af > THRESHOLDS.demote) return n
  }
  return Infinity
}

async function main(): Promise<void> {
  const http = createServer((_q, res) => res.end('<!doctype html><title>bench</title>'))
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`
  const secret = newTurnSecret()
  const turn = await TurnService.start({ host: '127.0.0.1', port: 0, secret, maxCallLegs: () => 1000, log: silentLogger() })
  let leg = 0 // each page's connection is one call leg with its own credentials, as super-nodes grant them
  const ice = (): Ice => ({ urls: `turn:127.0.0.1:${turn.address.port}?transport=udp`, ...mintTurnCredentials(secret, `leg-${++leg}`, 3600) })
  const browser: Browser = await launchChromium()
  try {
    const page = async () => {
      const ctx = await browser.newContext()
      await ctx.addInitScript(EVALUATE_SHIM)
      const p = await ctx.newPage()
      await p.goto(url)
      return p
    }
    const [a, b] = [await page(), await page()]
    await connectPair(a, b, null, 'direct')
    await connectPair(a, b, ice, 'relayed')
    await new Promise((r) => setTimeout(r, 2000)) // RTCP reports
    const direct = await oneWay(a, b, 'direct')
    const relayed = await oneWay(a, b, 'relayed')
    const rtt = { direct: round(Number(await audioRtt(a, 'direct')), 2), relayed: round(Number(await audioRtt(a, 'relayed')), 2) }

    // CPU: idle baseline, then CALLS more relayed audio calls (two relayed legs each).
    const idleCpu = await cpuOver(SECONDS * 1000)
    for (let i = 0; i < CALLS; i++) await connectPair(a, b, ice, `load${i}`)
    const legs = turn.callLegs // one per page's connection; Chromium allocates once per interface for each
    const bytes0 = turn.bytesRelayed
    const t0 = performance.now()
    const loadCpu = await cpuOver(SECONDS * 1000)
    const bytesPerS = ((turn.bytesRelayed - bytes0) * 1000) / (performance.now() - t0)
    const cpuPerLeg = Math.max(0, loadCpu - idleCpu) / legs
    const bytesPerLegPerS = bytesPerS / legs
    const result = {
      recordedAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      oneWayMs: { direct, relayed, addedP50: Math.round((relayed.p50 - direct.p50) * 100) / 100 },
      audioRttMs: rtt,
      cpu: { idleShareOfCore: round(idleCpu), loadedShareOfCore: round(loadCpu), callLegs: legs, allocations: turn.allocations, perLegShareOfCore: round(cpuPerLeg, 5) },
      relayedKbpsPerLeg: Math.round((bytesPerLegPerS * 8) / 10) / 100,
      legsUntilDemotion: {
        defaultLimits: callsUntilDemotion(DEFAULT_RELAY_LIMITS, cpuPerLeg, bytesPerLegPerS, 0),
        callLimitLifted: callsUntilDemotion({ ...DEFAULT_RELAY_LIMITS, relayMaxCalls: 10_000 }, cpuPerLeg, bytesPerLegPerS, 0),
        onlyCpu: callsUntilDemotion({ relayMaxCalls: 10_000, relayMaxKbps: 10_000_000, neverRelay: false }, cpuPerLeg, bytesPerLegPerS, 0)
      },
      settings: { messages: MESSAGES, calls: CALLS, seconds: SECONDS }
    }
    await mkdir(RESULTS_DIR, { recursive: true })
    await writeFile(join(RESULTS_DIR, 'relay-latest.json'), JSON.stringify(result, null, 2) + '\n')
    process.stderr.write(JSON.stringify(result, null, 2) + '\n')
  } finally {
    await browser.close()
    await turn.close()
    http.close()
  }
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

await main()
