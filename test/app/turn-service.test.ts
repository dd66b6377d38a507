/// <reference lib="dom" />
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server as HttpServer } from 'node:http'
import { createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { connect, wire, type Socket as TurnClient } from 'turn-server'
import { launchChromium, EVALUATE_SHIM, MEDIA_PROBE, audioStats, eventually } from '../helpers/browser.js'
import { mutate, rng } from '../helpers/mutate.js'
import { silentLogger } from '../../app/log.js'
import { TurnService, type TurnServiceOptions } from '../../app/relay/turn-service.js'
import { checkTurnUsername, mintTurnCredentials, newTurnSecret } from '../../app/relay/turn-credentials.js'
import { probeStun } from '../../app/relay/stun-probe.js'

/**
 * The super-node's media relay against real Chromium peer connections forced
 * to relay (iceTransportPolicy 'relay'): what a renderer behind a symmetric
 * NAT would do. Every assertion is on what the browsers or the service observe.
 */

let browser: Browser
let http: HttpServer
let pageUrl: string
const services: TurnService[] = []
let legs = 0

before(async () => {
  http = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html')
    res.end('<!doctype html><title>turn test</title>')
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
  pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`
  browser = await launchChromium()
})
after(async () => {
  await browser?.close()
  await Promise.all(services.map((s) => s.close()))
  http?.close()
})

async function startTurn(opts: Partial<TurnServiceOptions> = {}): Promise<TurnService> {
  const turn = await TurnService.start({
    host: '127.0.0.1',
    port: 0,
    secret: newTurnSecret(),
    maxCallLegs: () => 100,
    log: silentLogger(),
    ...opts
  })
  services.push(turn)
  return turn
}

interface IceServer {
  urls: string
  username: string
  credential: string
}

/** One call leg's credentials; each leg (call and peer) gets its own label, as super-nodes hand them out. */
function iceServer(turn: TurnService, secret: Buffer, ttlS = 600, now = Date.now(), label = `leg-${++legs}`): IceServer {
  const { username, credential } = mintTurnCredentials(secret, label, ttlS, now)
  return { urls: `turn:127.0.0.1:${turn.address.port}?transport=udp`, username, credential }
}

async function openPage(): Promise<Page> {
  const context = await browser.newContext()
  await context.addInitScript(EVALUATE_SHIM)
  await context.addInitScript(MEDIA_PROBE)
  const page = await context.newPage()
  await page.goto(pageUrl)
  return page
}

interface Gathered {
  sdp: string
  /** Relay candidates of the local description, "ip:port". */
  relay: string[]
  /** icecandidateerror codes (STUN/TURN error codes). */
  errors: number[]
}

/** A relay-only peer connection with the fake microphone, as the renderer makes one. */
function newRelayPc(page: Page, server: IceServer): Promise<void> {
  return page.evaluate(async (server) => {
    const w = window as unknown as { pc: RTCPeerConnection; iceErrors: number[] }
    w.iceErrors = []
    w.pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' })
    w.pc.addEventListener('icecandidateerror', (e) => w.iceErrors.push((e as RTCPeerConnectionIceErrorEvent).errorCode))
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true })
    for (const track of mic.getTracks()) w.pc.addTrack(track, mic)
  }, server)
}

/** Applies the remote description (if any), makes the local one and waits for full gathering. */
function negotiate(page: Page, remote: { type: RTCSdpType; sdp: string } | null): Promise<Gathered> {
  return page.evaluate(async (remote) => {
    const w = window as unknown as { pc: RTCPeerConnection; iceErrors: number[] }
    const pc = w.pc
    if (remote) await pc.setRemoteDescription(remote)
    if (!remote || remote.type === 'offer') {
      await pc.setLocalDescription(remote ? await pc.createAnswer() : await pc.createOffer())
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()))
      }
    }
    const sdp = pc.localDescription?.sdp ?? ''
    const relay = [...sdp.matchAll(/a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ relay/gi)].map((m) => `${m[1]}:${m[2]}`)
    return { sdp, relay, errors: [...w.iceErrors] }
  }, remote)
}

/** Offer/answer between two pages (full gathering, no trickle); returns both sides' gathering. */
async function call(a: Page, b: Page, serverA: IceServer, serverB: IceServer): Promise<[Gathered, Gathered]> {
  await newRelayPc(a, serverA)
  await newRelayPc(b, serverB)
  const offer = await negotiate(a, null)
  const answer = await negotiate(b, { type: 'offer', sdp: offer.sdp })
  await negotiate(a, { type: 'answer', sdp: answer.sdp })
  return [offer, answer]
}

/** Only gathers (an offer nobody answers): enough to see whether the relay grants an allocation. */
async function gatherOnly(page: Page, server: IceServer): Promise<Gathered> {
  await newRelayPc(page, server)
  return negotiate(page, null)
}

/** Candidate types of the nominated pair, from the page's own stats. */
function selectedPair(page: Page): Promise<{ local: string; remote: string } | null> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc
    const reports = new Map<string, Record<string, unknown>>()
    ;(await pc.getStats()).forEach((r: Record<string, unknown>) => reports.set(r.id as string, r))
    const transport = [...reports.values()].find((r) => r.type === 'transport')
    const pair = transport && reports.get(transport.selectedCandidatePairId as string)
    if (!pair) return null
    return {
      local: String(reports.get(pair.localCandidateId as string)?.candidateType),
      remote: String(reports.get(pair.remoteCandidateId as string)?.candidateType)
    }
  })
}

async function packetsReceived(page: Page): Promise<number> {
  return (await audioStats(page))?.packetsReceived ?? 0
}

/** Audio keeps arriving on both pages: each receives `n` more packets than it had. */
async function audioFlowsBothWays(a: Page, b: Page, n = 25): Promise<void> {
  const [ra, rb] = [await packetsReceived(a), await packetsReceived(b)]
  await eventually(() => packetsReceived(a), (p) => p >= ra + n, 'page A receiving audio')
  await eventually(() => packetsReceived(b), (p) => p >= rb + n, 'page B receiving audio')
}

/** Hangs up (pc.close(), which releases TURN allocations) and closes the pages. */
async function closePages(...pages: Page[]): Promise<void> {
  await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { pc?: RTCPeerConnection }).pc?.close())))
  await Promise.all(pages.map((p) => p.context().close()))
}

test('REST credentials: HMAC-SHA1 of "<expiry>:<label>", valid until the expiry', () => {
  const secret = Buffer.alloc(32, 7)
  const now = 1_700_000_000_500
  const c = mintTurnCredentials(secret, 'call-1', 3600, now)
  assert.equal(c.username, '1700003600:call-1')
  assert.equal(c.credential, createHmac('sha1', secret).update('1700003600:call-1').digest('base64'))
  assert.equal(c.expiresAt, 1_700_003_600_000)
  assert.equal(checkTurnUsername(c.username, now), true)
  assert.equal(checkTurnUsername(c.username, c.expiresAt), false)
  for (const bad of ['', 'call-1', ':call-1', 'soon:call-1', '-5:x', '0:x']) assert.equal(checkTurnUsername(bad, now), false, bad)
  assert.equal(newTurnSecret().length, 32)
  assert.notDeepEqual(newTurnSecret(), newTurnSecret())
})

test('two Chromium pages forced to relay connect through the service, audio flows both ways, counted', async () => {
  const secret = newTurnSecret()
  const turn = await startTurn({ secret })
  const [a, b] = [await openPage(), await openPage()]
  const [offer, answer] = await call(a, b, iceServer(turn, secret), iceServer(turn, secret))

  assert.ok(offer.relay.length > 0 && answer.relay.length > 0, 'both pages gathered relay candidates')
  for (const c of [...offer.relay, ...answer.relay]) assert.match(c, /^127\.0\.0\.1:\d+$/, 'relayed address on the service host')
  await audioFlowsBothWays(a, b)
  assert.deepEqual(await selectedPair(a), { local: 'relay', remote: 'relay' })
  assert.deepEqual(await selectedPair(b), { local: 'relay', remote: 'relay' })

  // One allocation per relay candidate the browsers hold (Chromium allocates per
  // local network: one per page on a loopback-only machine, two with eth0 too).
  const relayed = new Set([...offer.relay, ...answer.relay]).size
  assert.ok(relayed >= 2)
  assert.equal(turn.allocations, relayed)
  const bytes = turn.bytesRelayed
  await eventually(async () => turn.bytesRelayed, (n) => n > bytes + 10_000, 'bytesRelayed growing')
  const s = turn.stats()
  assert.ok(s.bytesToPeers > 0 && s.bytesFromPeers > 0, 'both directions counted')
  assert.equal(s.refused, 0)

  // Hanging up releases the allocations (Chromium sends Refresh lifetime 0).
  await closePages(a, b)
  await eventually(async () => turn.allocations, (n) => n === 0, 'allocations released')
})

test('expired or wrongly signed credentials get no relay candidate (401) and are counted', async () => {
  const secret = newTurnSecret()
  const turn = await startTurn({ secret })
  const page = await openPage()

  const expired = await gatherOnly(page, iceServer(turn, secret, 60, Date.now() - 120_000))
  assert.deepEqual(expired.relay, [])
  assert.ok(expired.errors.includes(401), `errors: ${expired.errors}`)
  const afterExpired = turn.stats().refusedCredentials
  assert.ok(afterExpired >= 1)

  const forged = await gatherOnly(page, iceServer(turn, newTurnSecret()))
  assert.deepEqual(forged.relay, [])
  assert.ok(forged.errors.includes(401), `errors: ${forged.errors}`)
  assert.ok(turn.stats().refusedCredentials > afterExpired)
  assert.equal(turn.refused, turn.stats().refusedCredentials)
  assert.equal(turn.allocations, 0)

  // The same page with a fresh credential is granted one.
  const fresh = await gatherOnly(page, iceServer(turn, secret))
  assert.ok(fresh.relay.length > 0)
  await closePages(page)
})

/** A TURN client from the same library (RFC 8656 client side), for requests Chromium only makes every few minutes. */
function turnClient(turn: TurnService, username: string, password: string): Promise<TurnClient> {
  return new Promise((resolve, reject) =>
    connect(`turn:127.0.0.1:${turn.address.port}?transport=udp`, { username, password, autoRefresh: false }, (err, s) => (err ? reject(err) : resolve(s)))
  )
}

/** 200 or the STUN error code of one request ('allocate', 'refresh', 'create_permission'). */
function outcome(client: TurnClient, method: string, fire: () => void): Promise<number> {
  return new Promise((resolve) => {
    client.on(`${method}:success`, () => resolve(200))
    client.on(`${method}:error`, (_msg: unknown, err: { code?: number } | null) => resolve(err?.code ?? -1))
    fire()
  })
}

/** turn-server 0.6.6's index.d.ts declares refresh({ lifetime }), but the code takes the number. */
function refresh(client: TurnClient, lifetimeS: number): void {
  ;(client.refresh as unknown as (lifetime: number) => void)(lifetimeS)
}

test('an allocation outlives its credential; a new allocation needs a fresh one', async () => {
  let clock = Date.now()
  const secret = newTurnSecret()
  const turn = await startTurn({ secret, now: () => clock })
  const { username, credential } = mintTurnCredentials(secret, 'long-call', 60, clock)
  const holder = await turnClient(turn, username, credential)
  assert.equal(await outcome(holder, 'allocate', () => holder.allocate()), 200)

  clock += 120_000 // the credential has expired mid-call
  assert.equal(await outcome(holder, 'refresh', () => refresh(holder, 600)), 200)
  assert.equal(await outcome(holder, 'create_permission', () => holder.createPermission([{ ip: '127.0.0.1', port: 9 }])), 200)

  const reuser = await turnClient(turn, username, credential)
  assert.equal(await outcome(reuser, 'allocate', () => reuser.allocate()), 403)
  assert.equal(turn.allocations, 1)
  assert.equal(turn.stats().refusedCredentials, 1)

  // Once the call hangs up the expired credential opens nothing.
  assert.equal(await outcome(holder, 'refresh', () => refresh(holder, 0)), 200)
  assert.equal(turn.allocations, 0)
  const late = await turnClient(turn, username, credential)
  assert.equal(await outcome(late, 'allocate', () => late.allocate()), 401)
  for (const c of [holder, reuser, late]) c.close()
})

test('at capacity or when admit() refuses, a new allocation gets 486 while the relayed call keeps flowing', async () => {
  const secret = newTurnSecret()
  let limit = 100
  let refusal: string | null = null
  const turn = await startTurn({ secret, maxCallLegs: () => limit, admit: () => refusal })
  const [a, b] = [await openPage(), await openPage()]
  await call(a, b, iceServer(turn, secret), iceServer(turn, secret))
  await audioFlowsBothWays(a, b, 10)
  const inCall = turn.allocations
  assert.equal(turn.callLegs, 2, 'one leg per page, however many interfaces each allocated on')

  limit = turn.callLegs // full
  const third = await openPage()
  const atCapacity = await gatherOnly(third, iceServer(turn, secret))
  assert.deepEqual(atCapacity.relay, [])
  assert.ok(atCapacity.errors.includes(486), `errors: ${atCapacity.errors}`)
  assert.equal(turn.allocations, inCall)
  assert.ok(turn.stats().refusedCapacity >= 1)
  await audioFlowsBothWays(a, b)

  limit = 100
  refusal = 'stepping down'
  const fourth = await openPage()
  const refused = await gatherOnly(fourth, iceServer(turn, secret))
  assert.deepEqual(refused.relay, [])
  assert.ok(refused.errors.includes(486), `errors: ${refused.errors}`)
  assert.equal(turn.stats().lastRefusal, 'stepping down')
  assert.equal(turn.allocations, inCall)
  await audioFlowsBothWays(a, b)
  assert.deepEqual(await selectedPair(a), { local: 'relay', remote: 'relay' })

  refusal = null
  const fifth = await openPage()
  assert.ok((await gatherOnly(fifth, iceServer(turn, secret))).relay.length > 0, 'admitted again once admit() clears')
  await closePages(a, b, third, fourth, fifth)
})

/** XOR-MAPPED-ADDRESS (RFC 5389 §15.2, IPv4) of a Binding success response, as "ip:port". */
function xorMappedAddress(res: Buffer): string | null {
  if (res.readUInt16BE(0) !== 0x0101) return null
  for (let at = 20; at + 4 <= res.length; at += 4 + Math.ceil(res.readUInt16BE(at + 2) / 4) * 4) {
    if (res.readUInt16BE(at) !== 0x0020) continue
    const port = res.readUInt16BE(at + 6) ^ 0x2112
    const ip = [0, 1, 2, 3].map((i) => (res[at + 8 + i] as number) ^ [0x21, 0x12, 0xa4, 0x42][i]!).join('.')
    return `${ip}:${port}`
  }
  return null
}

test('Binding requests are answered with the sender\'s address, with or without attributes', async () => {
  const turn = await startTurn()
  const sock = createSocket('udp4')
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()))
  const ask = (req: Buffer) =>
    new Promise<Buffer>((resolve) => {
      sock.once('message', resolve)
      sock.send(req, turn.address.port, '127.0.0.1')
    })
  const me = `127.0.0.1:${sock.address().port}`
  const bare = Buffer.from(wire.encode_message({ method: wire.METHOD.BINDING as number, cls: wire.CLASS.REQUEST as number, attributes: [], fingerprint: false }).buf)
  const withFingerprint = Buffer.from(wire.encode_message({ method: wire.METHOD.BINDING as number, cls: wire.CLASS.REQUEST as number, attributes: [], fingerprint: true }).buf)
  const r1 = await ask(bare)
  assert.equal(xorMappedAddress(r1), me)
  assert.deepEqual(r1.subarray(8, 20), bare.subarray(8, 20), 'same transaction id')
  assert.equal(xorMappedAddress(await ask(withFingerprint)), me)
  sock.close()
})

test('probeStun measures RTT with no loss against the service, and loss 1 against a closed port', async () => {
  const turn = await startTurn()
  const live = await probeStun('127.0.0.1', turn.address.port, { count: 5, intervalMs: 10 })
  assert.equal(live.sent, 5)
  assert.equal(live.received, 5)
  assert.equal(live.loss, 0)
  assert.ok(live.rttMs !== null && live.rttMs >= 0)

  const closed = createSocket('udp4')
  await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', () => resolve()))
  const port = closed.address().port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const dead = await probeStun('127.0.0.1', port, { count: 3, intervalMs: 10, timeoutMs: 300 })
  assert.deepEqual(dead, { rttMs: null, loss: 1, sent: 3, received: 0 })

  const nowhere = await probeStun('no-such-host.invalid', 3478, { count: 2, intervalMs: 10, timeoutMs: 300 })
  assert.equal(nowhere.loss, 1)
})

test('garbage and mutated STUN/TURN datagrams do not break the service; it still answers a probe', async () => {
  const turn = await startTurn()
  const sock = createSocket('udp4')
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()))
  const send = (b: Buffer) => new Promise<void>((resolve) => sock.send(b, turn.address.port, '127.0.0.1', () => resolve()))
  const msg = (method: number, attributes: Array<{ type: number; value: unknown }>) =>
    Buffer.from(wire.encode_message({ method, cls: wire.CLASS.REQUEST as number, transactionId: randomBytes(12), attributes, fingerprint: true }).buf)
  const peer = { ip: '127.0.0.1', port: 9 }
  const corpus = [
    msg(wire.METHOD.BINDING as number, []),
    msg(wire.METHOD.ALLOCATE as number, [{ type: wire.ATTR.REQUESTED_TRANSPORT as number, value: 17 }, { type: wire.ATTR.USERNAME as number, value: '1:x' }]),
    msg(wire.METHOD.CREATE_PERMISSION as number, [{ type: wire.ATTR.XOR_PEER_ADDRESS as number, value: peer }]),
    msg(wire.METHOD.CHANNEL_BIND as number, [{ type: wire.ATTR.CHANNEL_NUMBER as number, value: 0x4000 }, { type: wire.ATTR.XOR_PEER_ADDRESS as number, value: peer }]),
    Buffer.from(wire.encode_channel_data(0x4000, randomBytes(100)))
  ]
  const r = rng(8656)
  for (let i = 0; i < 3000; i++) {
    const base = corpus[i % corpus.length] as Buffer
    let junk = i % 10 === 0 ? randomBytes(Math.floor(r() * 600)) : mutate(base, r)
    // Half the mutants get a consistent header length, so they reach the TURN
    // engine's attribute parsing instead of being dropped at the door.
    if (i % 2 === 1 && junk.length >= 20 && junk.length % 4 === 0 && (junk[0] as number) < 0x40) {
      junk = Buffer.from(junk)
      junk.writeUInt32BE(0x2112a442, 4)
      junk.writeUInt16BE(junk.length - 20, 2)
    }
    await send(junk)
    // Pace the flood: a kernel receive buffer overflowing is not what is under test.
    if (i % 250 === 249) await probeStun('127.0.0.1', turn.address.port, { count: 1 })
  }
  // A STUN header whose length claims more than the datagram holds, and an
  // attribute running past the end of the message.
  const lying = Buffer.from(corpus[0] as Buffer)
  lying.writeUInt16BE(4000, 2)
  await send(lying)
  const overrun = Buffer.concat([(corpus[0] as Buffer).subarray(0, 20), Buffer.from([0x00, 0x06, 0xff, 0xff, 1, 2, 3, 4])])
  overrun.writeUInt16BE(8, 2)
  await send(overrun)
  sock.close()

  const probe = await probeStun('127.0.0.1', turn.address.port, { count: 3, intervalMs: 10 })
  assert.equal(probe.loss, 0)
  assert.ok(turn.stats().dropped > 0, 'non-STUN junk dropped before the TURN engine')
  assert.equal(turn.allocations, 0)
})
