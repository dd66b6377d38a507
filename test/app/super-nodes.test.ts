import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import HyperDHT from 'hyperdht'
import Protomux from 'protomux'
import c from 'compact-encoding'
import { Lab } from '../helpers/overlay.js'
import type { Peer } from '../../app/peer.js'
import type { RelayOptions } from '../../app/relay/relay-service.js'
import { relayTopic } from '../../app/relay/relay-topic.js'
import { RELAY_PROTOCOL } from '../../app/relay/relay-channel.js'
import { probeStun } from '../../app/relay/stun-probe.js'

/** Wait until `ok()` holds (polling every 100 ms); fail naming what did not happen. */
async function until(ok: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${ok.toString()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

let lab: Lab
before(async () => {
  lab = await Lab.create(10)
})
after(() => lab.destroy())

/** A super-node whose machine reports a fixed CPU load, so af is known. */
function superNode(aor: string, cpu: number, opts: RelayOptions = {}): Promise<Peer> {
  return lab.peer(aor, { relay: { mode: 'always', sampleMs: 100, cpuLoad: () => ({ process: 0.01, system: cpu }), ...opts } })
}

async function announcers(peer: Peer): Promise<string[]> {
  return (await peer.overlay.lookupTopic(relayTopic())).keys.map((k) => k.toString('hex'))
}

test('a super-node (mode always) turns persistent, runs TURN and announces its relay offer', async () => {
  const sn = await superNode('sip:always@relay.test', 0)
  const other = await lab.peer('sip:looker@relay.test')
  await until(() => sn.status().relay.role === 'super-node')
  const status = sn.status()
  assert.equal(status.role, 'super-node')
  assert.equal(sn.overlay.dht.ephemeral, false, 'a persistent DHT node')
  const turn = status.relay.services.turn
  assert.ok(turn, 'TURN address in status')
  const probe = await probeStun(turn.host, turn.port)
  assert.equal(probe.loss, 0)
  assert.ok(status.relay.annoyance.inputs.uptimeS >= 0 && typeof status.relay.annoyance.af === 'number')
  await until(async () => (await announcers(other)).includes(sn.status().publicKey))
  await sn.close() // out of the next tests' relay choices
})

test('auto mode promotes a capable node, and it steps down gracefully when the user says never relay', async () => {
  const node = await lab.peer('sip:auto@relay.test', {
    relay: { sampleMs: 100, cpuLoad: () => ({ process: 0.01, system: 0.05 }), policy: { minUptimeS: 0, holdMs: 300 }, reachabilityCheckMs: 200 }
  })
  const other = await lab.peer('sip:watcher@relay.test')
  assert.equal(node.status().relay.role, 'client')
  await until(() => node.status().relay.role === 'super-node', 20_000)
  assert.match(node.status().relay.reason, /af 0 < 0\.3/)
  const turn = node.status().relay.services.turn!
  await until(async () => (await announcers(other)).includes(node.status().publicKey))

  node.relay.setLimits({ relayMaxKbps: 4000, relayMaxCalls: 8, neverRelay: true })
  await until(() => node.status().relay.role === 'client', 20_000)
  assert.equal(node.status().relay.annoyance.veto, 'never-relay')
  assert.equal(node.overlay.dht.ephemeral, true, 'back to an ephemeral DHT node')
  assert.equal((await probeStun(turn.host, turn.port, { count: 3, timeoutMs: 300 })).loss, 1, 'TURN closed')
  assert.ok(!(await announcers(other)).includes(node.status().publicKey), 'offer withdrawn')
})

test('relay selection: lowest af first, two backups, full relays rejected with the reason; failover promotes a backup', async () => {
  const low = await superNode('sip:low@relay.test', 0.3)
  const mid = await superNode('sip:mid@relay.test', 0.5)
  const high = await superNode('sip:high@relay.test', 0.7)
  const full = await superNode('sip:full@relay.test', 0)
  full.relay.setLimits({ relayMaxKbps: 4000, relayMaxCalls: 0, neverRelay: false })
  const caller = await lab.peer('sip:caller@relay.test', { relay: { alwaysRelay: true, constraints: { minUptimeS: 0 } } })
  const keys = new Map([low, mid, high, full].map((p) => [p.status().publicKey, p.aor]))
  await until(async () => (await announcers(caller)).filter((k) => keys.has(k)).length === 4, 20_000)

  const plan = await caller.relay.planFor('call-select')
  const roles = new Map(plan.candidates.map((c) => [keys.get(c.publicKey) ?? c.publicKey, c]))
  assert.equal(plan.needed, true)
  assert.equal(roles.get(low.aor)?.role, "primary", JSON.stringify(plan.candidates, null, 1))
  assert.equal(roles.get(mid.aor)?.role, 'backup', JSON.stringify(plan.candidates, null, 1))
  assert.equal(roles.get(high.aor)?.role, 'backup')
  assert.equal(roles.get(full.aor)?.role, 'rejected')
  assert.match(roles.get(full.aor)!.reason, /no free relay slots/)
  assert.equal(plan.iceServers.length, 1)
  const turn = low.status().relay.services.turn!
  assert.deepEqual(plan.iceServers[0]!.urls, [`turn:${turn.host}:${turn.port}?transport=udp`])
  assert.match(plan.iceServers[0]!.username ?? '', /^\d+:[0-9a-f]+$/)

  const lowKey = low.status().publicKey
  const kept = await caller.relay.failover('call-select', lowKey)
  assert.match(kept.reason, /still answers: kept/, 'a primary that answers its probe is kept')
  assert.deepEqual(kept.iceServers, plan.iceServers)

  await low.close() // the primary relay dies
  const next = await caller.relay.failover('call-select', lowKey)
  const after = new Map(next.candidates.map((c) => [keys.get(c.publicKey) ?? c.publicKey, c]))
  assert.equal(after.get(mid.aor)?.role, 'primary', JSON.stringify(next.candidates))
  assert.equal(after.get(low.aor)?.role, 'rejected')
  const midTurn = mid.status().relay.services.turn!
  assert.deepEqual(next.iceServers[0]!.urls, [`turn:${midTurn.host}:${midTurn.port}?transport=udp`])
  await Promise.all([mid, high, full].map((p) => p.close()))
})

test('a super-node at capacity refuses new credentials with RELAY_FULL and counts the refusal', async () => {
  const sn = await superNode('sip:one-slot@relay.test', 0)
  sn.relay.setLimits({ relayMaxKbps: 4000, relayMaxCalls: 1, neverRelay: false })
  const a = await lab.peer('sip:first@relay.test')
  const key = Buffer.from(sn.status().publicKey, 'hex')
  await until(() => sn.status().relay.role === 'super-node')
  const channel = await (a.relay as unknown as { channelTo(k: Buffer): Promise<import('../../app/relay/relay-channel.js').RelayChannel> }).channelTo(key)
  const grant = await channel.credentials('call-1')
  assert.ok(grant.credential)
  await assert.rejects(channel.credentials('call-2'), (err: Error & { code?: string }) => err.code === 'RELAY_FULL')
  assert.equal(sn.status().relay.services.refused, 1)
})

test('hostile relay frames get BAD_REQUEST and the super-node keeps serving', async () => {
  const sn = await superNode('sip:sturdy@relay.test', 0)
  await until(() => sn.status().relay.role === 'super-node')
  const dht = new HyperDHT({ bootstrap: lab.bootstrap, host: '127.0.0.1' })
  lab.onTeardown(() => dht.destroy())
  const stream = dht.connect(Buffer.from(sn.status().publicKey, 'hex'))
  stream.on('error', () => {})
  const replies: string[] = []
  const channel = Protomux.from(stream).createChannel({ protocol: RELAY_PROTOCOL })!
  const frames = channel.addMessage<Buffer>({ encoding: c.buffer, onmessage: (b) => replies.push(b.toString()) })
  channel.open()
  frames.send(Buffer.from('{not json'))
  frames.send(Buffer.from(JSON.stringify({ id: 7, type: 'credentials', callId: 'x'.repeat(10_000) })))
  frames.send(Buffer.alloc(100_000, 1))
  frames.send(Buffer.from(JSON.stringify({ id: 8, type: 'offer' })))
  await until(() => replies.length >= 4)
  const parsed = replies.map((r) => JSON.parse(r) as { id: number; ok: boolean; refusal?: { code: string } })
  assert.deepEqual(parsed.slice(0, 3).map((r) => r.refusal?.code), ['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST'])
  assert.equal(parsed[3]!.ok, true)
  assert.equal(parsed[3]!.id, 8)
  stream.destroy()
  assert.equal(sn.status().relay.role, 'super-node')
})
