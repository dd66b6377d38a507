/// <reference lib="dom" />
/**
 * Real Parley calls across the NAT lab (test/lab/README.md, "Calls across
 * NATs"): shared by test/lab/nat-calls.test.ts and bench/lab-nat.ts.
 *
 *   public: boot (a 6-node DHT, the far-ms trick), sn1..sn3 (`parley serve
 *           --supernode always`: persistent DHT node, blind relay, TURN on
 *           the host's public address)
 *   peers:  l-none, l-cone, l-symmetric, r-none, r-cone, r-symmetric — each a
 *           `parley serve --web 0` in its own namespace (behind its own NAT
 *           router for cone/symmetric) with one Chromium in the same
 *           namespace driving the real UI: L pages send a 440 Hz tone, R pages
 *           1000 Hz and auto-answer.
 *
 * Peers query their own daemon over its control socket (a Unix socket in the
 * data directory, reachable from the root namespace) for status and relay plans.
 */
import type { ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import type { NodeStatus, RelayPlan } from '../../app/api/contract.js'
import { controlRequest } from '../../app/cli/control-client.js'
import { EVALUATE_SHIM, MEDIA_PROBE, launchChromium, audioStats, dominantReceivedFrequency, writeToneWav } from '../helpers/browser.js'
import { chromiumWrapper, stopProcess, waitForJson } from './netns.js'
import { startTopology, type LabHost, type Topology } from './topology.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const FIXTURES = join(ROOT, 'test', 'lab', 'fixtures')
const PARLEY = join(ROOT, 'bin', 'parley.js')
const NODE = process.execPath

export const NATS = ['none', 'cone', 'symmetric'] as const
export type PeerNat = (typeof NATS)[number]
export type Side = 'l' | 'r'
export const TONE_HZ: Record<Side, number> = { l: 440, r: 1000 }
/** How far (Hz) a received tone may be from the sent one (the analyser's bins are ≈ 6 Hz). */
export const TONE_TOLERANCE_HZ = 25
export const SUPER_NODES = ['sn1', 'sn2', 'sn3'] as const

export interface LabSuperNode {
  name: string
  host: LabHost
  child: ChildProcess
  dataDir: string
  publicKey: string
  /** TURN address as offered to peers */
  turn: { host: string; port: number }
  killed: boolean
}

export interface LabPeer {
  name: string
  side: Side
  nat: PeerNat
  aor: string
  host: LabHost
  child: ChildProcess
  dataDir: string
  url: string
  browser: Browser
  page: Page
  /** as the peer saw itself once ready */
  firewalled: boolean
  randomized: boolean
  /** console errors and page errors, newest last (kept short) */
  pageErrors: string[]
  /** its `parley serve` log (pino JSON lines) */
  logFile: string
}

export interface CallLab {
  topo: Topology
  bootstrap: string[]
  superNodes: LabSuperNode[]
  peers: Map<string, LabPeer>
  peer(side: Side, nat: PeerNat): LabPeer
  /** where each process's stderr (pino logs) goes */
  logDir: string
  /** ms per setup phase */
  timings: Record<string, number>
  close(): Promise<void>
}

export interface CallLabOptions {
  /** directory for process logs; default a fresh one under test-artifacts/lab-nat */
  logDir?: string
  /** pino level of the parley processes (default info) */
  logLevel?: string
  /** progress lines */
  progress?: (line: string) => void
}

export const peerName = (side: Side, nat: PeerNat) => `${side}-${nat}`
export const cellName = (from: LabPeer, to: LabPeer) => `${from.name} → ${to.name}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Poll `probe` until `ok`; returns the last value, throws `what` with the last value on timeout. */
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  while (true) {
    let lastErr: unknown = null
    try {
      last = await probe()
      if (ok(last)) return last
    } catch (err) {
      lastErr = err
    }
    if (Date.now() > deadline) {
      const seen = lastErr ? `error ${(lastErr as Error).message}` : JSON.stringify(last)
      throw new Error(`${what}: not within ${timeoutMs / 1000} s; last seen ${seen?.slice(0, 1500)}`)
    }
    await sleep(everyMs)
  }
}

export function status(dataDir: string): Promise<NodeStatus> {
  return controlRequest(dataDir, 'status', {}) as Promise<NodeStatus>
}

export function relayPlan(dataDir: string, callId: string): Promise<RelayPlan> {
  return controlRequest(dataDir, 'relay.forCall', { callId }) as Promise<RelayPlan>
}

/** Pipe a process's stderr into `file` (the pino log), kept for diagnosis. */
function logTo(child: ChildProcess, file: string): WriteStream {
  const out = createWriteStream(file, { flags: 'a' })
  child.stderr?.on('data', (d: Buffer) => out.write(d))
  child.once('exit', (code, signal) => out.end(`{"lab":"exited","code":${code ?? 'null'},"signal":${JSON.stringify(signal)}}\n`))
  return out
}

/** Build the topology, the DHT, three super-nodes and six peers with their browsers; ready to call. */
export async function startCallLab(opts: CallLabOptions = {}): Promise<CallLab> {
  const progress = opts.progress ?? (() => {})
  const timings: Record<string, number> = {}
  let t = Date.now()
  const phase = (name: string) => {
    timings[name] = Date.now() - t
    progress(`${name}: ${timings[name]} ms`)
    t = Date.now()
  }
  const logDir = opts.logDir ?? join(ROOT, 'test-artifacts', 'lab-nat', new Date().toISOString().replace(/[:.]/g, '-'))
  await mkdir(logDir, { recursive: true })
  const work = await mkdtemp(join(tmpdir(), 'plab-calls-'))
  const logLevel = opts.logLevel ?? 'info'

  const peerSpecs = (['l', 'r'] as const).flatMap((side) => NATS.map((nat) => ({ side, nat, name: peerName(side, nat) })))
  const topo = await startTopology({
    hosts: [
      { name: 'boot', nat: 'public' },
      ...SUPER_NODES.map((name) => ({ name, nat: 'public' as const })),
      ...peerSpecs.map((p) => ({ name: p.name, nat: p.nat }))
    ]
  })
  const browsers: Browser[] = []
  const superNodes: LabSuperNode[] = []
  const peers = new Map<string, LabPeer>()
  const children: ChildProcess[] = []
  let bootstrap: string[] = []
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await Promise.all(browsers.map((b) => b.close().catch(() => {})))
    await Promise.all(children.map((c) => stopProcess(c, 3_000).catch(() => {})))
    await topo.close()
    await rm(work, { recursive: true, force: true })
  }

  try {
    phase('topology')
    const boot = topo.host('boot')
    const dht = boot.spawn(NODE, [join(FIXTURES, 'dht-bootstrap.mjs'), '--host', boot.address, '--nodes', '6'])
    children.push(dht)
    logTo(dht, join(logDir, 'boot.log'))
    bootstrap = (await waitForJson<{ bootstrap: string[] }>(dht, (m) => m.event === 'ready', 30_000)).bootstrap
    phase('dht')

    const serve = (host: LabHost, name: string, args: string[]) => {
      // --lan off: these peers must find each other through the DHT, as peers behind separate NATs do.
      const child = host.spawn(NODE, [PARLEY, 'serve', '--bootstrap', bootstrap.join(','), '--lan', 'off', '--log-level', logLevel, ...args], {
        env: { ...process.env, PARLEY_LOG_LEVEL: logLevel }
      })
      children.push(child)
      logTo(child, join(logDir, `${name}.log`))
      return child
    }

    // Super-nodes first, so that peers find their offers on the relay topic at their first gathering.
    await Promise.all(
      SUPER_NODES.map(async (name) => {
        const host = topo.host(name)
        const dataDir = join(work, name)
        const child = serve(host, name, [
          '--data-dir', dataDir, '--aor', `sip:${name}@lab.parley`, '--dht-host', host.address,
          '--supernode', 'always', '--turn-host', host.address,
          // Each super-node stands for a machine of its own: the six Chromiums on this
          // machine's two cores are not its owner's load (else af() passes 0.6 mid-call).
          '--relay-cpu', 'own'
        ])
        const ready = await waitForJson<{ publicKey: string }>(child, (m) => m.event === 'ready', 60_000)
        const s = await until(
          () => status(dataDir),
          (st) => st.relay.role === 'super-node' && st.relay.services.turn !== null,
          `${name}: role super-node with a TURN service (reason, overlay)`,
          60_000
        )
        superNodes.push({ name, host, child, dataDir, publicKey: ready.publicKey, turn: s.relay.services.turn!, killed: false })
      })
    )
    superNodes.sort((a, b) => a.name.localeCompare(b.name))
    phase('super-nodes')

    const wavDir = join(work, 'wav')
    await mkdir(wavDir)
    const wav = { l: join(wavDir, 'l.wav'), r: join(wavDir, 'r.wav') }
    await writeToneWav(wav.l, TONE_HZ.l)
    await writeToneWav(wav.r, TONE_HZ.r)

    await Promise.all(
      peerSpecs.map(async ({ side, nat, name }) => {
        const host = topo.host(name)
        const dataDir = join(work, name)
        const aor = `sip:${name}@lab.parley`
        const child = serve(host, name, [
          '--data-dir', dataDir, '--aor', aor, '--dht-host', host.address, '--web', '0', '--relay-min-uptime', '0'
        ])
        const web = await waitForJson<{ url: string }>(child, (m) => m.event === 'web', 60_000)
        await waitForJson(child, (m) => m.event === 'ready', 60_000)
        if (side === 'r') await controlRequest(dataDir, 'settings.set', { autoAnswer: true })
        // Lab pages use real addresses: no --allow-loopback-in-peer-connection.
        const browser = await launchChromium({ executablePath: await chromiumWrapper(host.ns), loopback: false, fakeAudioWav: wav[side] })
        browsers.push(browser)
        const context = await browser.newContext()
        await context.addInitScript(EVALUATE_SHIM)
        await context.addInitScript(MEDIA_PROBE)
        await context.addInitScript(SDP_PROBE)
        const page = await context.newPage()
        const pageErrors: string[] = []
        const keep = (line: string) => {
          pageErrors.push(line.slice(0, 300))
          if (pageErrors.length > 20) pageErrors.shift()
        }
        page.on('pageerror', (err) => keep(`pageerror: ${err.message}`))
        page.on('console', (msg) => {
          if (msg.type() === 'error') keep(`console: ${msg.text()}`)
        })
        await page.goto(web.url)
        await page.waitForURL(/\/app\//)
        await page.getByTestId('sip-registration').filter({ hasText: /^registered$/ }).waitFor({ timeout: 60_000 })
        peers.set(name, { name, side, nat, aor, host, child, dataDir, url: web.url, browser, page, firewalled: true, randomized: false, pageErrors, logFile: join(logDir, `${name}.log`) })
      })
    )
    phase('peers')

    // Ready to call: a public peer knows it is reachable; a NATed one has a
    // relay plan with a primary (TURN credentials) and backups from the
    // super-nodes (its first gatherings may predate their offers: cached 30 s).
    await Promise.all(
      [...peers.values()].map(async (p) => {
        if (p.nat === 'none') {
          const s = await until(() => status(p.dataDir), (st) => !st.overlay.firewalled && !st.relay.annoyance.inputs.firewalled, `${p.name}: reachable from outside (overlay.firewalled false)`, 75_000, 500)
          p.firewalled = s.overlay.firewalled
          return
        }
        let n = 0
        let first: RelayPlan | null = null
        const started = Date.now()
        await until(
          async () => {
            const plan = await relayPlan(p.dataDir, `lab-ready-${p.name}-${++n}`)
            first ??= plan
            return plan
          },
          (plan) => plan.needed && plan.iceServers.length > 0 && plan.candidates.filter((c) => c.role !== 'rejected').length === SUPER_NODES.length,
          `${p.name}: a relay plan with a primary and ${SUPER_NODES.length - 1} backups`,
          75_000,
          // every plan reserves a relay slot on its primary for 15 s: poll gently
          5_000
        )
        const f = first as RelayPlan | null
        progress(`${p.name}: relays after ${Date.now() - started} ms, ${n} plans; first: ${f ? `${f.reason} [${f.candidates.map((c) => `${c.role} ${c.reason}`).join('; ')}]` : '-'}`)
        const s = await status(p.dataDir)
        p.firewalled = s.relay.annoyance.inputs.firewalled
        p.randomized = s.relay.annoyance.inputs.randomized
      })
    )
    phase('relays-ready')
  } catch (err) {
    const logs = `process logs in ${logDir}`
    await close()
    throw new Error(`call lab set-up failed: ${(err as Error).message} (${logs})`, { cause: err })
  }

  return {
    topo,
    bootstrap,
    superNodes,
    peers,
    peer(side, nat) {
      const p = peers.get(peerName(side, nat))
      if (!p) throw new Error(`no lab peer ${peerName(side, nat)}`)
      return p
    },
    logDir,
    timings,
    close
  }
}

// ── in the page ─────────────────────────────────────────────────────────────

/**
 * Keeps the candidate lines of the last descriptions each peer connection set
 * (local and remote, with the time), for failure messages: which addresses
 * each side offered in an ICE restart.
 */
const SDP_PROBE = `(() => {
  window.__sdps = []
  const keep = (kind, desc) => {
    const sdp = (desc && desc.sdp) || ''
    const candidates = sdp.split(/\\r?\\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => {
      const f = l.split(' ')
      return f[7] + ' ' + f[4] + ':' + f[5]
    })
    const ufrag = (sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1] || ''
    window.__sdps.push({ at: new Date().toISOString().slice(11, 23), kind: kind + ' ' + ((desc && desc.type) || ''), ufrag, candidates })
    if (window.__sdps.length > 12) window.__sdps.shift()
  }
  const P = RTCPeerConnection.prototype
  const setLocal = P.setLocalDescription
  const setRemote = P.setRemoteDescription
  P.setLocalDescription = async function (...args) {
    const r = await setLocal.apply(this, args)
    // the candidates are in the description once gathering is complete
    const done = () => keep('local', this.localDescription)
    if (this.iceGatheringState === 'complete') done()
    else {
      const on = () => {
        if (this.iceGatheringState !== 'complete') return
        this.removeEventListener('icegatheringstatechange', on)
        done()
      }
      this.addEventListener('icegatheringstatechange', on)
    }
    return r
  }
  P.setRemoteDescription = async function (...args) {
    const r = await setRemote.apply(this, args)
    keep('remote', this.remoteDescription)
    return r
  }
})()`

/** The candidate lines of the last few descriptions the page set (SDP_PROBE). */
export function recentDescriptions(page: Page, last = 6): Promise<string[]> {
  return page.evaluate(
    (n) => (window as unknown as { __sdps: Array<{ at: string; kind: string; ufrag: string; candidates: string[] }> }).__sdps.slice(-n).map((d) => `${d.at} ${d.kind} ufrag ${d.ufrag}: [${d.candidates.join(', ')}]`),
    last
  )
}

export interface PathEnd {
  type: string
  address: string | null
  port: number | null
  url: string | null
}

export interface PcInfo {
  /** how many peer connections the page has made so far */
  count: number
  iceConnectionState: string
  connectionState: string
  signalingState: string
  /** the selected candidate pair */
  path: { local: PathEnd; remote: PathEnd } | null
  localTypes: string[]
  remoteTypes: string[]
}

/** ICE states, the selected pair and the candidate types of the page's newest peer connection (counters: audioStats). */
export function pcInfo(page: Page): Promise<PcInfo | null> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
    const pc = pcs[pcs.length - 1]
    if (!pc) return null
    const all: Array<Record<string, unknown>> = []
    ;(await pc.getStats()).forEach((r: Record<string, unknown>) => all.push(r))
    const byId = new Map(all.map((r) => [r.id as string, r]))
    const transport = all.find((r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string')
    const pair = transport ? byId.get(transport.selectedCandidatePairId as string) : all.find((r) => r.type === 'candidate-pair' && r.nominated === true && r.state === 'succeeded')
    const end = (c: Record<string, unknown> | undefined) =>
      c ? { type: String(c.candidateType), address: (c.address ?? c.ip ?? null) as string | null, port: (c.port ?? null) as number | null, url: (c.url ?? null) as string | null } : null
    const local = pair ? end(byId.get(pair.localCandidateId as string)) : null
    const remote = pair ? end(byId.get(pair.remoteCandidateId as string)) : null
    return {
      count: pcs.length,
      iceConnectionState: pc.iceConnectionState,
      connectionState: pc.connectionState,
      signalingState: pc.signalingState,
      path: local && remote ? { local, remote } : null,
      localTypes: [...new Set(all.filter((r) => r.type === 'local-candidate').map((r) => String(r.candidateType)))],
      remoteTypes: [...new Set(all.filter((r) => r.type === 'remote-candidate').map((r) => String(r.candidateType)))]
    }
  })
}

export async function callState(page: Page): Promise<string> {
  return ((await page.getByTestId('call-state').textContent({ timeout: 1000 }).catch(() => null)) ?? '').trim()
}

/** What the call's diagnostics panel says (it is rendered even while collapsed). */
export async function uiDiagnostics(page: Page): Promise<Record<string, string | string[] | null>> {
  const text = (id: string) => page.getByTestId(id).first().textContent({ timeout: 500 }).then((s) => s?.trim() ?? null, () => null)
  const rows = await page
    .getByTestId('relay-candidate')
    .evaluateAll((els) => els.map((e) => [...e.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '').join(' | ')))
    .catch(() => [])
  const failovers = await page.getByTestId('relay-failover').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind')}: ${e.textContent?.trim() ?? ''}`)).catch(() => [])
  return {
    state: await text('call-state'),
    endCause: await text('call-end-cause'),
    mediaPath: await text('media-path'),
    recovery: await text('media-recovery'),
    plan: (await text('relay-plan')) ?? (await text('relay-plan-error')),
    candidates: rows,
    failovers
  }
}

/** The TURN address (host:port) of the call's primary relay, from the diagnostics panel. */
export async function primaryTurn(page: Page): Promise<string | null> {
  return page
    .locator('[data-testid="relay-candidate"][data-role="primary"] td:nth-child(3)')
    .first()
    .textContent({ timeout: 1_000 })
    .then((t) => t?.trim() || null, () => null)
}

export type PathKind = 'direct' | 'relayed'
export const pathKind = (i: PcInfo | null): PathKind | null => (i?.path ? (i.path.local.type === 'relay' || i.path.remote.type === 'relay' ? 'relayed' : 'direct') : null)
const describePath = (i: PcInfo | null) => (i?.path ? `${i.path.local.type} ${i.path.local.address}:${i.path.local.port} ↔ ${i.path.remote.type} ${i.path.remote.address}:${i.path.remote.port}` : 'no selected pair')

/** The serve log's warnings and errors of the last minute, for failure messages (CI shows only those). */
async function recentWarnings(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const since = Date.now() - 60_000
  const lines = text.split('\n').flatMap((line) => {
    try {
      const e = JSON.parse(line) as { level?: number; time?: number; msg?: string }
      return (e.level ?? 0) >= 40 && (e.time ?? 0) >= since ? [line.slice(0, 400)] : []
    } catch {
      return []
    }
  })
  return lines.length ? `; log warnings ${JSON.stringify(lines.slice(-5))}` : ''
}

/** One line per side for failure messages: UI state, ICE state, path, counters, relay plan, recent page errors. */
export async function describeCall(from: LabPeer, to: LabPeer): Promise<string> {
  const lines: string[] = []
  for (const p of [from, to]) {
    const [ui, pc, audio] = await Promise.all([uiDiagnostics(p.page).catch((e: Error) => ({ error: e.message })), pcInfo(p.page).catch(() => null), audioStats(p.page).catch(() => null)])
    lines.push(
      `${p.name}: ui ${JSON.stringify(ui)}; pc ${pc ? `ice ${pc.iceConnectionState}/${pc.connectionState}/${pc.signalingState}, path ${describePath(pc)}, local [${pc.localTypes}], remote [${pc.remoteTypes}], rx ${audio?.packetsReceived ?? '?'}, tx ${audio?.packetsSent ?? '?'}` : 'none'}` +
        (p.pageErrors.length ? `; page errors ${JSON.stringify(p.pageErrors.slice(-3))}` : '') +
        (await recentWarnings(p.logFile))
    )
  }
  return lines.join('\n  ')
}

// ── calls ───────────────────────────────────────────────────────────────────

export interface CallOutcome {
  cell: string
  from: string
  to: string
  /** the UI reached `connected` on both sides */
  connected: boolean
  /** dial click → the caller's UI shows `connected` */
  setupMs: number | null
  /** dial click → the caller's peer connection is `connected` (DTLS up) */
  mediaUpMs: number | null
  /** inbound audio packets rose on both sides */
  twoWay: boolean
  /** dominant received frequency at the caller and at the callee (Hz), -1 if not measured */
  callerHears: number
  calleeHears: number
  /** both sides heard the other's tone */
  tones: boolean
  path: PathKind | null
  callerPath: string
  calleePath: string
  /** the caller's and callee's selected pair, for finding the relay */
  callerPc: PcInfo | null
  calleePc: PcInfo | null
  /** why it failed, with what each side showed */
  error: string | null
}

/**
 * Dial `to` from `from`'s page (the callee auto-answers), wait for both UIs to
 * show `connected`, then for audio both ways and the tones. Never throws: the
 * outcome says what happened. The call stays up; `hangUp` ends it.
 */
export async function placeCall(from: LabPeer, to: LabPeer, opts: { connectTimeoutMs?: number; mediaTimeoutMs?: number; tones?: boolean } = {}): Promise<CallOutcome> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 45_000
  const mediaTimeoutMs = opts.mediaTimeoutMs ?? 20_000
  const outcome: CallOutcome = {
    cell: cellName(from, to), from: from.name, to: to.name, connected: false, setupMs: null, mediaUpMs: null, twoWay: false,
    callerHears: -1, calleeHears: -1, tones: false, path: null, callerPath: '', calleePath: '', callerPc: null, calleePc: null, error: null
  }
  const fail = async (what: string) => {
    outcome.error = `${outcome.cell}: ${what}\n  ${await describeCall(from, to).catch((e: Error) => `(diagnostics failed: ${e.message})`)}`
    return outcome
  }
  const calleeBefore = (await pcInfo(to.page))?.count ?? 0
  await from.page.getByTestId('nav-dial').click()
  await from.page.getByTestId('dial-input').fill(to.aor)
  const timing = await from.page
    .evaluate(
      ({ timeoutMs }) =>
        new Promise<{ connectedMs: number | null; mediaUpMs: number | null; state: string; error: string | null }>((resolve) => {
          const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
          const before = pcs.length
          const t0 = performance.now()
          let connectedMs: number | null = null
          let mediaUpMs: number | null = null
          let state = ''
          const finish = (error: string | null) => {
            clearInterval(timer)
            clearTimeout(deadline)
            resolve({ connectedMs, mediaUpMs, state, error })
          }
          const check = () => {
            state = document.querySelector('[data-testid="call-state"]')?.textContent?.trim() ?? ''
            if (state === 'connected' && connectedMs === null) connectedMs = performance.now() - t0
            const pc = pcs.length > before ? pcs[pcs.length - 1] : undefined
            if (pc?.connectionState === 'connected' && mediaUpMs === null) mediaUpMs = performance.now() - t0
            if (connectedMs !== null && mediaUpMs !== null) finish(null)
            else if (state === 'ended') finish('the call ended before connecting')
          }
          const timer = setInterval(check, 20)
          const deadline = setTimeout(() => finish(`not connected within ${timeoutMs / 1000} s`), timeoutMs)
          ;(document.querySelector('[data-testid="dial-call"]') as HTMLButtonElement).click()
        }),
      { timeoutMs: connectTimeoutMs }
    )
    .catch((err: Error) => ({ connectedMs: null, mediaUpMs: null, state: '?', error: `page evaluation failed: ${err.message}` }))
  outcome.setupMs = timing.connectedMs === null ? null : Math.round(timing.connectedMs)
  outcome.mediaUpMs = timing.mediaUpMs === null ? null : Math.round(timing.mediaUpMs)
  if (timing.error) return fail(`caller ${timing.error} (UI connected after ${outcome.setupMs ?? '–'} ms, peer connection after ${outcome.mediaUpMs ?? '–'} ms)`)
  try {
    await until(() => callState(to.page), (s) => s === 'connected', `${to.name}'s UI connected`, 15_000, 200)
  } catch (err) {
    return fail((err as Error).message)
  }
  outcome.connected = true

  // Audio both ways: inbound packets rise by well over a second's worth on each side.
  try {
    const [a0, b0] = await Promise.all([audioStats(from.page), audioStats(to.page)])
    await Promise.all(
      [[from, a0], [to, b0]].map(([p, s0]) => {
        const peer = p as LabPeer
        const base = (s0 as Awaited<ReturnType<typeof audioStats>>)?.packetsReceived ?? 0
        return until(() => audioStats(peer.page), (s) => s !== null && s.packetsReceived > base + 50 && s.totalAudioEnergy > 0, `${peer.name} receiving audio (packets over ${base + 50}, energy > 0)`, mediaTimeoutMs, 250)
      })
    )
    outcome.twoWay = true
  } catch (err) {
    return fail(`no two-way audio: ${(err as Error).message}`)
  }
  const [callerPc, calleePc] = await Promise.all([pcInfo(from.page), pcInfo(to.page)])
  if ((calleePc?.count ?? 0) <= calleeBefore) return fail('the callee made no new peer connection')
  outcome.callerPc = callerPc
  outcome.calleePc = calleePc
  outcome.callerPath = describePath(callerPc)
  outcome.calleePath = describePath(calleePc)
  outcome.path = pathKind(callerPc) ?? pathKind(calleePc)

  if (opts.tones !== false) {
    const hears = async (p: LabPeer, hz: number) => {
      let last = -1
      for (let i = 0; i < 5; i++) {
        last = await dominantReceivedFrequency(p.page)
        if (Math.abs(last - hz) < TONE_TOLERANCE_HZ) break
      }
      return last
    }
    ;[outcome.callerHears, outcome.calleeHears] = await Promise.all([hears(from, TONE_HZ[to.side]), hears(to, TONE_HZ[from.side])])
    outcome.tones = Math.abs(outcome.callerHears - TONE_HZ[to.side]) < TONE_TOLERANCE_HZ && Math.abs(outcome.calleeHears - TONE_HZ[from.side]) < TONE_TOLERANCE_HZ
    if (!outcome.tones) return fail(`wrong tones: ${from.name} hears ${outcome.callerHears} Hz (want ${TONE_HZ[to.side]}), ${to.name} hears ${outcome.calleeHears} Hz (want ${TONE_HZ[from.side]})`)
  }
  return outcome
}

/** Hang up from the caller's page (if a call is up) and wait until neither page shows one. */
export async function hangUp(from: LabPeer, to: LabPeer): Promise<void> {
  const gone = (s: string) => s === 'ended' || s === ''
  if (!gone(await callState(from.page))) await from.page.getByTestId('call-hangup').click({ timeout: 5_000 }).catch(() => {})
  await until(() => callState(from.page), gone, `${from.name} after hang-up`, 15_000, 200)
  await until(() => callState(to.page), gone, `${to.name} after hang-up`, 15_000, 200).catch(async () => {
    // the BYE went missing: end it from the callee too, so the next call starts clean
    await to.page.getByTestId('call-hangup').click({ timeout: 5_000 }).catch(() => {})
    await until(() => callState(to.page), gone, `${to.name} after its own hang-up`, 10_000, 200)
  })
  await sleep(300)
}

/** The super-node whose TURN address is `address`, if any. */
export function superNodeAt(lab: CallLab, address: string | null | undefined): LabSuperNode | undefined {
  return lab.superNodes.find((s) => s.turn.host === address || s.host.address === address)
}

/** The median of `xs` (null for none). */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2)
}

// ── a relay killed mid-call ─────────────────────────────────────────────────

export interface SideRecovery {
  /** inbound packets when the relay was killed */
  rxAtKill: number
  /** the longest time (ms) inbound packets did not rise, from the kill on */
  gapMs: number
  /** kill → inbound packets rising again (50 packets past the stall); null if they never did */
  backAfterMs: number | null
  /** call-state values seen after the kill */
  states: string[]
}

export interface RelayKillOutcome {
  /** the super-node killed and why it was chosen */
  killed: LabSuperNode | null
  reason: string
  /** every super-node's TURN allocations just before the kill */
  allocations: Record<string, number>
  /** every super-node's blind-relay sessions (peer streams of symmetric-NAT peers, SIP) just before the kill */
  blindSessions: Record<string, number>
  caller: SideRecovery
  callee: SideRecovery
  /** both sides' media came back and neither UI showed `ended` */
  survived: boolean
  /** each side's primary relay (TURN address of its plan) just before the kill */
  primaries: { caller: string | null; callee: string | null }
  /** each side's selected pair just before the kill (each side's own view) */
  pathsBefore: { caller: string; callee: string }
  /** the caller's path once media was back */
  pathAfter: string
  error: string | null
}

/**
 * With a relayed call up between `from` and `to`: find the super-node whose
 * TURN carries it (an end of the selected candidate pair is its relay address,
 * and its status counts allocations), SIGKILL it, and watch both pages until
 * inbound audio rises again on both sides (ICE restart onto a backup relay) or
 * `withinMs` passes. Never throws.
 */
export async function killRelayMidCall(lab: CallLab, from: LabPeer, to: LabPeer, call: CallOutcome, withinMs = 30_000): Promise<RelayKillOutcome> {
  const empty = (): SideRecovery => ({ rxAtKill: 0, gapMs: 0, backAfterMs: null, states: [] })
  const out: RelayKillOutcome = { killed: null, reason: '', allocations: {}, blindSessions: {}, caller: empty(), callee: empty(), survived: false, primaries: { caller: null, callee: null }, pathsBefore: { caller: '', callee: '' }, pathAfter: '', error: null }
  const fail = async (what: string) => {
    out.error =
      `${cellName(from, to)}, relay killed mid-call: ${what}\n  super-node TURN allocations before the kill ${JSON.stringify(out.allocations)}, blind-relay sessions ${JSON.stringify(out.blindSessions)}; ` +
      `primary relays before the kill: ${from.name} ${out.primaries.caller}, ${to.name} ${out.primaries.callee}; ` +
      `selected pairs before the kill: ${from.name} ${out.pathsBefore.caller}, ${to.name} ${out.pathsBefore.callee}\n  ${await describeCall(from, to).catch((e: Error) => `(diagnostics failed: ${e.message})`)}`
    return out
  }
  const [callerNow, calleeNow] = await Promise.all([pcInfo(from.page).catch(() => null), pcInfo(to.page).catch(() => null)])
  out.pathsBefore = { caller: describePath(callerNow), callee: describePath(calleeNow) }
  const [callerPrimary, calleePrimary] = await Promise.all([primaryTurn(from.page), primaryTurn(to.page)])
  out.primaries = { caller: callerPrimary, callee: calleePrimary }
  for (const sn of lab.superNodes) {
    if (sn.killed) continue
    const st = await status(sn.dataDir).catch(() => null)
    out.allocations[sn.name] = st?.relay.services.allocations ?? -1
    out.blindSessions[sn.name] = st?.relay.services.blindSessions ?? -1
  }
  const path = callerNow?.path ?? call.callerPc?.path
  const candidates = [
    path?.local.type === 'relay' ? { sn: superNodeAt(lab, path.local.address), why: `the caller's own relay candidate ${path.local.address}:${path.local.port} is on it` } : null,
    path?.remote.type === 'relay' ? { sn: superNodeAt(lab, path.remote.address), why: `the callee's relay candidate ${path.remote.address}:${path.remote.port} is on it` } : null
  ].filter((c): c is { sn: LabSuperNode; why: string } => c !== null && c.sn !== undefined && !c.sn.killed)
  const chosen = candidates.find((c) => (out.allocations[c.sn.name] ?? 0) > 0)
  if (!chosen) return fail(`no live super-node both on the selected pair (${call.callerPath}) and holding TURN allocations`)
  out.killed = chosen.sn
  out.reason = `${chosen.why}; ${out.allocations[chosen.sn.name]} TURN allocation(s) there`

  const sides = [
    { peer: from, rec: out.caller },
    { peer: to, rec: out.callee }
  ]
  const rx = async (p: LabPeer) => (await audioStats(p.page).catch(() => null))?.packetsReceived ?? -1
  for (const s of sides) s.rec.rxAtKill = await rx(s.peer)
  const killedAt = Date.now()
  chosen.sn.child.kill('SIGKILL')
  chosen.sn.killed = true

  const track = sides.map((s) => ({ ...s, last: s.rec.rxAtKill, lastRiseAt: killedAt, stalledAt: null as number | null, stallRx: 0 }))
  while (Date.now() - killedAt < withinMs && track.some((t) => t.rec.backAfterMs === null)) {
    await sleep(250)
    await Promise.all(
      track.map(async (t) => {
        const [n, state] = await Promise.all([rx(t.peer), callState(t.peer.page)])
        const now = Date.now()
        if (!t.rec.states.includes(state)) t.rec.states.push(state)
        if (n > t.last) {
          t.rec.gapMs = Math.max(t.rec.gapMs, now - t.lastRiseAt)
          t.last = n
          t.lastRiseAt = now
        }
        if (t.stalledAt === null && now - t.lastRiseAt > 1_000) {
          t.stalledAt = t.lastRiseAt
          t.stallRx = t.last
        }
        if (t.stalledAt !== null && t.rec.backAfterMs === null && n > t.stallRx + 50) t.rec.backAfterMs = now - killedAt
      })
    )
    if (track.some((t) => t.rec.states.includes('ended'))) break
  }
  for (const t of track) if (t.rec.backAfterMs === null) t.rec.gapMs = Math.max(t.rec.gapMs, Date.now() - t.lastRiseAt)
  const after = await pcInfo(from.page).catch(() => null)
  out.pathAfter = describePath(after)
  const sdps = async (p: LabPeer) => `${p.name}'s last descriptions (candidates offered / received): ${(await recentDescriptions(p.page).catch(() => [])).join(' | ')}`
  const fail2 = async (what: string) => fail(`${what}\n  ${await sdps(from)}\n  ${await sdps(to)}`)
  const ended = track.filter((t) => t.rec.states.includes('ended')).map((t) => t.peer.name)
  if (ended.length) return fail2(`the UI showed the call ended at ${ended.join(' and ')} after the kill (states ${JSON.stringify(track.map((t) => [t.peer.name, t.rec.states]))})`)
  const stuck = track.filter((t) => t.rec.backAfterMs === null)
  if (stuck.length) {
    return fail2(
      `inbound audio did not rise again within ${withinMs / 1000} s at ${stuck.map((t) => `${t.peer.name} (rx ${t.rec.rxAtKill} at the kill, ${t.last} now, ${t.stalledAt === null ? 'never stalled' : `stalled ${Date.now() - t.stalledAt} ms ago`})`).join(', ')}`
    )
  }
  out.survived = true
  return out
}

/**
 * Why a page may not hear the far end although packets arrive: the newest
 * peer connection's transceivers, inbound RTP over one second (packets,
 * decoded and concealed samples, codec), and whether the remote-audio element
 * is playing the receiver's track. Printed when a tone check fails.
 */
export function receiveDiagnostics(page: Page): Promise<Record<string, unknown>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
    const pc = pcs[pcs.length - 1]
    if (!pc) return { pcs: 0 }
    const inbound = async () => {
      const all: Array<Record<string, unknown>> = []
      ;(await pc.getStats()).forEach((r: Record<string, unknown>) => all.push(r))
      const byId = new Map(all.map((r) => [r.id as string, r]))
      return all
        .filter((s) => s.type === 'inbound-rtp' || s.type === 'outbound-rtp')
        .map((s) => {
          const codec = byId.get(s.codecId as string)
          return {
            type: s.type, ssrc: s.ssrc, packets: s.packetsReceived ?? s.packetsSent, lost: s.packetsLost, samples: s.totalSamplesReceived,
            concealed: s.concealedSamples, silentConcealed: s.silentConcealedSamples, energy: s.totalAudioEnergy, level: s.audioLevel,
            codec: codec ? `${String(codec.mimeType)}/${String(codec.payloadType)}` : null
          }
        })
    }
    const first = await inbound()
    await new Promise((r) => setTimeout(r, 1000))
    const second = await inbound()
    const el = document.querySelector('[data-testid="remote-audio"]') as HTMLAudioElement | null
    const stream = el?.srcObject as MediaStream | null
    const receiverTracks = pc.getReceivers().map((r) => r.track.id)
    return {
      pcs: pcs.length,
      signaling: pc.signalingState,
      ice: pc.iceConnectionState,
      transceivers: pc.getTransceivers().map((t) => `${t.mid}:${t.direction}/${t.currentDirection}`),
      receivers: pc.getReceivers().map((r) => `${r.track.kind}:${r.track.id.slice(0, 8)}:${r.track.readyState}${r.track.muted ? ':muted' : ''}`),
      senders: pc.getSenders().map((s) => `${s.track?.kind ?? 'none'}:${s.track?.readyState ?? '-'}:${s.track?.enabled ?? '-'}`),
      rtp: [first, second],
      audioElement: el
        ? {
            paused: el.paused, readyState: el.readyState, muted: el.muted, volume: el.volume, currentTime: el.currentTime,
            sinkId: (el as HTMLAudioElement & { sinkId?: string }).sinkId ?? null,
            tracks: stream ? stream.getTracks().map((t) => `${t.id.slice(0, 8)}:${t.readyState}${receiverTracks.includes(t.id) ? ':receiver' : ':OTHER'}`) : null
          }
        : null
    }
  })
}
