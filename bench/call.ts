/// <reference lib="dom" />
/**
 * Call set-up benchmark: two `parley serve --web` peers on a local testnet,
 * each driven through its UI in Chromium. Measured at the caller's page:
 *   - post-dial delay: click on Call → call-state `ringing`
 *   - dial → `connected`, with the callee's auto-answer on
 * for the first call of a round (cold: no peer stream yet, the overlay lookup
 * on the path) and for repeat calls to the same buddy; compared in the same
 * run with a plain WebRTC call between the same two pages (offer/answer handed
 * over directly: no SIP, no overlay), gathering complete before the offer is
 * sent, as JsSIP does.
 *
 *   npm run bench:call -- [--rounds 5] [--repeats 10]
 *
 * JSON in bench/results/call-latest.json; summary on stderr.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { execFileSync } from 'node:child_process'
import type { Browser, Page } from 'playwright-core'
import { WebSocket } from 'ws'
import { Lab } from '../test/helpers/overlay.js'
import { CliProcess } from '../test/helpers/cli.js'
import { EVALUATE_SHIM, launchChromium } from '../test/helpers/browser.js'
import { summary } from './summary.js'

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')

interface WebPeer {
  cli: CliProcess
  page: Page
  url: URL
}

async function apiCall(url: URL, method: string, params: unknown): Promise<unknown> {
  const token = new URLSearchParams(url.hash.slice(1)).get('token')
  const ws = new WebSocket(`ws://${url.host}/api`, { headers: { Authorization: `Bearer ${token}` } })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const reply = await new Promise<{ ok: boolean; result?: unknown; error?: unknown }>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id?: number; ok: boolean }
      if (m.id === 1) resolve(m)
    })
    ws.send(JSON.stringify({ id: 1, method, params }))
  })
  ws.close()
  if (!reply.ok) throw new Error(`${method}: ${JSON.stringify(reply.error)}`)
  return reply.result
}

async function startWebPeer(lab: Lab, browser: Browser, aor: string): Promise<WebPeer> {
  const dataDir = await lab.tempDir()
  const cli = CliProcess.start(['serve', '--data-dir', dataDir, '--aor', aor, '--bootstrap', lab.bootstrap.join(','), '--dht-host', '127.0.0.1', '--web', '0'])
  lab.onTeardown(async () => void (await cli.stop()))
  const web = await cli.waitFor((l) => l.event === 'web', 'web line')
  await cli.waitFor((l) => l.event === 'ready', 'ready line')
  const context = await browser.newContext()
  lab.onTeardown(() => context.close())
  await context.addInitScript(EVALUATE_SHIM)
  const page = await context.newPage()
  await page.goto(String(web.url))
  await page.waitForURL(/\/app\//)
  await page.getByTestId('sip-registration').filter({ hasText: /^registered$/ }).waitFor({ timeout: 30_000 })
  return { cli, page, url: new URL(String(web.url)) }
}

/** Click Call for `target` and time the caller's call-state changes in the page itself. */
async function timedCall(caller: Page, target: string): Promise<{ ringingMs: number | null; connectedMs: number }> {
  await caller.getByTestId('nav-dial').click()
  await caller.getByTestId('dial-input').fill(target)
  const timing = await caller.evaluate(
    () =>
      new Promise<{ ringingMs: number | null; connectedMs: number }>((resolve, reject) => {
        let ringingMs: number | null = null
        const t0 = performance.now()
        const check = () => {
          const state = document.querySelector('[data-testid="call-state"]')?.textContent?.trim()
          if (state === 'ringing' && ringingMs === null) ringingMs = performance.now() - t0
          if (state === 'connected') {
            observer.disconnect()
            resolve({ ringingMs, connectedMs: performance.now() - t0 })
          }
          if (state === 'ended') reject(new Error('call ended before connecting'))
        }
        const observer = new MutationObserver(check)
        observer.observe(document.body, { subtree: true, childList: true, characterData: true })
        ;(document.querySelector('[data-testid="dial-call"]') as HTMLButtonElement).click()
        setTimeout(() => reject(new Error('no answer in 30 s')), 30_000)
      })
  )
  await caller.getByTestId('call-hangup').click()
  await caller.waitForFunction(() => {
    const s = document.querySelector('[data-testid="call-state"]')?.textContent?.trim()
    return s === undefined || s === 'ended'
  })
  await caller.waitForTimeout(300)
  return timing
}

/** A plain WebRTC audio call between the two pages: offer/answer passed by hand. */
async function plainWebRtcCall(a: Page, b: Page): Promise<number> {
  const started = await a.evaluate(async () => {
    const w = window as unknown as { __plain?: RTCPeerConnection; __t0: number }
    w.__t0 = performance.now()
    const pc = new RTCPeerConnection({ iceServers: [] })
    w.__plain = pc
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true })
    for (const t of mic.getTracks()) pc.addTrack(t, mic)
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise<void>((r) => (pc.iceGatheringState === 'complete' ? r() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())))
    return pc.localDescription!.sdp
  })
  const answer = await b.evaluate(async (offer) => {
    const w = window as unknown as { __plain?: RTCPeerConnection }
    w.__plain?.close()
    const pc = new RTCPeerConnection({ iceServers: [] })
    w.__plain = pc
    await pc.setRemoteDescription({ type: 'offer', sdp: offer })
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true })
    for (const t of mic.getTracks()) pc.addTrack(t, mic)
    await pc.setLocalDescription(await pc.createAnswer())
    await new Promise<void>((r) => (pc.iceGatheringState === 'complete' ? r() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r())))
    return pc.localDescription!.sdp
  }, started)
  const ms = await a.evaluate(async (sdp) => {
    const w = window as unknown as { __plain: RTCPeerConnection; __t0: number }
    const pc = w.__plain
    await pc.setRemoteDescription({ type: 'answer', sdp })
    await new Promise<void>((r) => (pc.connectionState === 'connected' ? r() : pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && r())))
    const elapsed = performance.now() - w.__t0
    pc.close()
    return elapsed
  }, answer)
  await b.evaluate(() => (window as unknown as { __plain?: RTCPeerConnection }).__plain?.close())
  return ms
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, repeats: { type: 'string' } }, strict: true })
  const rounds = Number(values.rounds ?? 5)
  const repeats = Number(values.repeats ?? 10)
  const samples = { cold: { ringing: [] as number[], connected: [] as number[] }, repeat: { ringing: [] as number[], connected: [] as number[] }, plain: [] as number[] }
  const browser = await launchChromium()
  try {
    for (let round = 0; round < rounds; round++) {
      const lab = await Lab.create(8)
      try {
        const callee = `sip:bob${round}@example.org`
        const a = await startWebPeer(lab, browser, `sip:alice${round}@example.org`)
        const b = await startWebPeer(lab, browser, callee)
        await apiCall(b.url, 'settings.set', { autoAnswer: true })
        for (let i = 0; i <= repeats; i++) {
          const t = await timedCall(a.page, callee)
          const bucket = i === 0 ? samples.cold : samples.repeat
          if (t.ringingMs !== null) bucket.ringing.push(t.ringingMs)
          bucket.connected.push(t.connectedMs)
          process.stderr.write(`round ${round} call ${i}: ringing ${t.ringingMs?.toFixed(0) ?? '—'} ms, connected ${t.connectedMs.toFixed(0)} ms\n`)
        }
        for (let i = 0; i < repeats; i++) samples.plain.push(await plainWebRtcCall(a.page, b.page))
      } finally {
        await lab.destroy()
      }
    }
  } finally {
    await browser.close()
  }
  const result = {
    benchmark: 'call',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, chromium: execFileSync('/usr/bin/chromium', ['--version']).toString().trim() },
    params: { rounds, repeats },
    parley: {
      coldPostDialDelayMs: summary(samples.cold.ringing),
      coldDialToConnectedMs: summary(samples.cold.connected),
      repeatPostDialDelayMs: summary(samples.repeat.ringing),
      repeatDialToConnectedMs: summary(samples.repeat.connected)
    },
    plainWebRtc: { dialToConnectedMs: summary(samples.plain) },
    samples
  }
  await mkdir(RESULTS_DIR, { recursive: true })
  await writeFile(join(RESULTS_DIR, 'call-latest.json'), JSON.stringify(result, null, 2) + '\n')
  process.stderr.write(JSON.stringify({ parley: result.parley, plainWebRtc: result.plainWebRtc }, null, 2) + '\n')
}

await main()
