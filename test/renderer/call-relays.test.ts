import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { IceServer, RelayCandidate, RelayPlan } from '../../app/api/contract.js'
import { CallRelays, type CallRelayView, type Clock, type PeerConnectionLike } from '../../renderer/src/phone/call-relays.js'
import type { RestartOutcome } from '../../renderer/src/phone/ice-restart.js'

// ── Fakes: a manual clock, a peer connection whose states and stats the test sets, the peer's relay service ──

class ManualClock implements Clock {
  t = 1_000_000
  private timers: { at: number; fn: () => void; id: number }[] = []
  private seq = 0
  now = () => this.t
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id })
    return id
  }
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id)
  }
  /** Move time forward, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      await settle()
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!next) break
      this.timers = this.timers.filter((x) => x !== next)
      this.t = next.at
      next.fn()
    }
    this.t = end
    await settle()
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
}

class FakePc implements PeerConnectionLike {
  iceConnectionState = 'new'
  connectionState = 'new'
  config: { iceServers?: IceServer[]; bundlePolicy?: string } = { iceServers: [], bundlePolicy: 'max-bundle' }
  configured: unknown[] = []
  stats: Record<string, unknown>[] = []
  private listeners = new Map<string, Set<() => void>>()
  addEventListener(type: string, fn: () => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set())
    this.listeners.get(type)?.add(fn)
  }
  removeEventListener(type: string, fn: () => void) {
    this.listeners.get(type)?.delete(fn)
  }
  getStats() {
    return Promise.resolve(new Map(this.stats.map((s, i) => [String(i), s])))
  }
  getConfiguration() {
    return this.config
  }
  setConfiguration(c: { iceServers?: IceServer[] }) {
    this.configured.push(c)
    this.config = c
  }
  set(ice: string, connection = ice === 'completed' ? 'connected' : ice === 'checking' ? 'connecting' : ice) {
    this.iceConnectionState = ice
    this.connectionState = connection
    for (const fn of this.listeners.get('iceconnectionstatechange') ?? []) fn()
    for (const fn of this.listeners.get('connectionstatechange') ?? []) fn()
  }
  listening(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0)
  }
  /** The selected pair: our candidate of this type, theirs of that. */
  route(local: string, remote = 'srflx') {
    this.stats = [
      { type: 'transport', id: 'T', selectedCandidatePairId: 'P' },
      { type: 'candidate-pair', id: 'P', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded', nominated: true },
      { type: 'local-candidate', id: 'L', candidateType: local, address: '203.0.113.5', port: 3478, protocol: 'udp', url: local === 'relay' ? 'turn:203.0.113.5:3478' : undefined, relayProtocol: local === 'relay' ? 'udp' : undefined },
      { type: 'remote-candidate', id: 'R', candidateType: remote, address: '198.51.100.9', port: 40000, protocol: 'udp' }
    ]
  }
}

const key = (c: string) => c.repeat(64)
const candidate = (publicKey: string, role: RelayCandidate['role'], reason: string = role): RelayCandidate => ({
  publicKey,
  turn: role === 'rejected' ? null : `turn:${publicKey.slice(0, 4)}.test:3478`,
  af: 0.1,
  freeSlots: 4,
  uptimeS: 3600,
  rttMs: 30,
  loss: 0,
  role,
  reason
})
const turnServers = (name: string): IceServer[] => [{ urls: [`turn:${name}.test:3478?transport=udp`], username: `u-${name}`, credential: 'secret' }]
const plan = (primary: string, backups: string[], rejected: string[] = []): RelayPlan => ({
  callId: 'call-1',
  needed: true,
  reason: 'behind a NAT',
  iceServers: turnServers(primary.slice(0, 4)),
  candidates: [candidate(primary, 'primary'), ...backups.map((b) => candidate(b, 'backup')), ...rejected.map((r) => candidate(r, 'rejected', 'rtt 400 ms > 250 ms'))],
  chosenAt: '2025-01-01T00:00:00.000Z'
})

interface Harness {
  clock: ManualClock
  pc: FakePc
  relays: CallRelays
  views: CallRelayView[]
  forCall: string[]
  failovers: { callId: string; failed: string | null }[]
  restarts: number
}

function harness(opts: { forCall?: () => Promise<RelayPlan>; failover?: () => Promise<RelayPlan>; restart?: () => Promise<RestartOutcome>; random?: () => number } = {}): Harness {
  const clock = new ManualClock()
  const pc = new FakePc()
  const h: Partial<Harness> & { views: CallRelayView[]; forCall: string[]; failovers: Harness['failovers']; restarts: number } = { views: [], forCall: [], failovers: [], restarts: 0 }
  h.clock = clock
  h.pc = pc
  h.relays = new CallRelays({
    callId: 'call-1',
    relays: {
      forCall: (callId) => (h.forCall.push(callId), (opts.forCall ?? (() => Promise.resolve(plan(key('a'), [key('b'), key('c')], [key('d')]))))()),
      failover: (callId, failed) => (h.failovers.push({ callId, failed }), (opts.failover ?? (() => Promise.resolve(plan(key('b'), [key('c')]))))())
    },
    restartIce: () => (h.restarts++, (opts.restart ?? (() => Promise.resolve({ ok: true }) as Promise<RestartOutcome>))()),
    onChange: (v) => h.views.push(v),
    clock,
    random: opts.random ?? (() => 0.5)
  })
  return h as Harness
}

const last = (h: Harness) => h.relays.view()

/** The plan in, the connection watched, media flowing for a second over a pair of these candidate types. */
async function connected(h: Harness, local: string, remote = 'srflx'): Promise<void> {
  await h.relays.iceServers
  h.relays.attach(h.pc)
  h.pc.route(local, remote)
  h.pc.set('connected')
  await h.clock.advance(1_000)
}

test('the plan is asked for at once with the call id; its ICE servers are what the call uses', async () => {
  const h = harness()
  assert.deepEqual(h.forCall, ['call-1'])
  assert.deepEqual(await h.relays.iceServers, turnServers('aaaa'))
  assert.equal(last(h).plan?.candidates.length, 4)
  assert.equal(last(h).planError, null)
  assert.equal(typeof last(h).planMs, 'number')
})

test('a failed plan request: the call goes on with no ICE servers, and the diagnostics say why', async () => {
  const h = harness({ forCall: () => Promise.reject(new Error('unknown method relay.forCall')) })
  assert.deepEqual(await h.relays.iceServers, [])
  assert.equal(last(h).plan, null)
  assert.match(last(h).planError ?? '', /unknown method relay\.forCall/)
})

test('a plan that takes more than 3 s is not waited for; a late one is kept for the next ICE restart', async () => {
  let answer: (p: RelayPlan) => void = () => undefined
  const h = harness({ forCall: () => new Promise((r) => (answer = r)) })
  let servers: IceServer[] | null = null
  void h.relays.iceServers.then((s) => (servers = s))
  await h.clock.advance(2_999)
  assert.equal(servers, null, 'still waiting at 2.999 s')
  await h.clock.advance(1)
  assert.deepEqual(servers, [])
  assert.match(last(h).planError ?? '', /3 s/)
  assert.deepEqual(h.relays.currentIceServers(), [])
  h.relays.attach(h.pc)
  answer(plan(key('a'), []))
  await settle()
  assert.equal(last(h).plan?.candidates[0]?.publicKey, key('a'))
  assert.match(last(h).planError ?? '', /came after 3\.0 s/)
  assert.deepEqual(h.relays.currentIceServers(), turnServers('aaaa'))
  assert.deepEqual(h.pc.configured, [{ iceServers: turnServers('aaaa'), bundlePolicy: 'max-bundle' }], 'set on the connection for its next gathering')
  // Not used yet: a failure before media ever flowed is not blamed on it.
  h.pc.set('checking')
  h.pc.set('failed')
  await settle()
  assert.equal(h.failovers.length, 0)
  assert.equal(last(h).recovery, 'awaiting-remote')
})

test('our relay dies: after 2 s the primary is failed over, the backup’s servers set, ICE restarted, the interruption recorded', async () => {
  const h = harness()
  await h.relays.iceServers
  h.relays.attach(h.pc)
  h.pc.route('relay')
  h.pc.set('checking')
  h.pc.set('connected')
  await h.clock.advance(1_000)
  assert.equal(last(h).path?.kind, 'relayed')
  assert.equal(last(h).path?.local.url, 'turn:203.0.113.5:3478')

  h.pc.set('disconnected')
  const stopped = h.clock.now()
  await h.clock.advance(1_999)
  assert.equal(h.failovers.length, 0)
  assert.equal(last(h).recovery, 'interrupted')
  await h.clock.advance(1)
  assert.deepEqual(h.failovers, [{ callId: 'call-1', failed: key('a') }])
  assert.equal(h.restarts, 1)
  assert.deepEqual(
    h.pc.configured,
    [
      { iceServers: turnServers('aaaa'), bundlePolicy: 'max-bundle' },
      { iceServers: turnServers('bbbb'), bundlePolicy: 'max-bundle' }
    ],
    'the primary’s servers when attached, the backup’s at the failover; the rest of the configuration kept'
  )
  assert.equal(last(h).plan?.candidates[0]?.publicKey, key('b'))
  assert.equal(last(h).recovery, 'recovering')
  assert.deepEqual(
    last(h).failovers.map((f) => [f.kind, f.from, f.to, f.interruptedMs]),
    [['failover', key('a'), key('b'), null]]
  )

  await h.clock.advance(900)
  h.pc.set('connected')
  await settle()
  const [record] = last(h).failovers
  assert.equal(record?.interruptedMs, h.clock.now() - stopped)
  assert.equal(record?.at, stopped + 2_000)
  assert.equal(record?.attempts, 1)
  assert.equal(last(h).recovery, 'up')
})

test('glare: a restart answered 491 is sent again after the random wait, on the same record', async () => {
  const outcomes: RestartOutcome[] = [{ ok: false, status: 491, reason: 'Request Pending' }, { ok: true }]
  const h = harness({ restart: () => Promise.resolve(outcomes.shift() ?? { ok: true }), random: () => 0 })
  await connected(h, 'relay')
  h.pc.set('failed')
  await settle()
  assert.equal(h.restarts, 1)
  await h.clock.advance(499)
  assert.equal(h.restarts, 1)
  await h.clock.advance(1)
  assert.equal(h.restarts, 2)
  assert.equal(h.failovers.length, 1, 'one failover, two re-INVITEs')
  assert.equal(last(h).failovers.length, 1)
  assert.equal(last(h).failovers[0]?.attempts, 2)
})

test('the failover request fails: ICE restarts anyway on the servers we have, and the record says why', async () => {
  const h = harness({ failover: () => Promise.reject(new Error('no backup left')) })
  await connected(h, 'relay')
  h.pc.set('failed')
  await settle()
  assert.equal(h.restarts, 1)
  assert.deepEqual(h.pc.configured, [{ iceServers: turnServers('aaaa'), bundlePolicy: 'max-bundle' }], 'only the first plan’s servers')
  const [record] = last(h).failovers
  assert.match(record?.error ?? '', /no backup left/)
  assert.equal(record?.to, null)
})

test('not relayed here: no failover; the far end’s restart brings media back and is recorded as the remote’s', async () => {
  const h = harness()
  await connected(h, 'srflx', 'relay')
  assert.equal(last(h).path?.kind, 'relayed')
  h.pc.set('disconnected')
  await h.clock.advance(4_000)
  assert.equal(h.failovers.length + h.restarts, 0)
  assert.equal(last(h).recovery, 'awaiting-remote')
  h.pc.set('connected')
  await settle()
  assert.deepEqual(
    last(h).failovers.map((f) => [f.kind, f.interruptedMs]),
    [['remote', 4_000]]
  )
})

test('not relayed here and nothing recovers: after 8 s we ask the peer about our relay (it may have died too) and restart ICE', async () => {
  const h = harness()
  await connected(h, 'host', 'host')
  h.pc.set('disconnected')
  await h.clock.advance(7_999)
  assert.equal(h.restarts + h.failovers.length, 0)
  await h.clock.advance(1)
  assert.equal(h.failovers.length, 1, 'relay.failover: the peer keeps a primary that still answers')
  assert.equal(h.restarts, 1)
  assert.deepEqual(
    last(h).failovers.map((f) => f.kind),
    ['failover']
  )
})

test('closing stops the watch: no timers fire, no listeners stay', async () => {
  const h = harness()
  await connected(h, 'relay')
  h.pc.set('disconnected')
  h.relays.close()
  assert.equal(h.pc.listening(), 0)
  const seen = h.views.length
  await h.clock.advance(30_000)
  assert.equal(h.failovers.length + h.restarts, 0)
  assert.equal(h.views.length, seen)
})

test('the path is read the moment media flows, so a failure right after connecting is judged by it', async () => {
  const h = harness()
  await h.relays.iceServers
  h.relays.attach(h.pc)
  h.pc.route('host', 'host')
  h.pc.set('connected')
  await settle()
  h.pc.set('failed')
  await settle()
  assert.equal(h.failovers.length, 0, 'a direct path: our relay is not to blame, though the plan had one')
  assert.equal(last(h).recovery, 'awaiting-remote')
})
