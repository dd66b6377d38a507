import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import HyperDHT from 'hyperdht'
import Protomux from 'protomux'
import c from 'compact-encoding'
import { Lab } from '../helpers/overlay.js'
import { SIP_PROTOCOL } from '../../app/overlay/peer-sip-flow.js'
import { aorTopic } from '../../app/overlay/topic.js'
import { canonicalAor } from '../../app/identity/aor.js'

let lab: Lab
before(async () => {
  lab = await Lab.create(10)
})
after(() => lab.destroy())

const hex = (b: Buffer) => b.toString('hex')

/** A raw DHT node speaking on the SIP channel, for hostile and silent peers. */
async function rawNode() {
  const dht = new HyperDHT({ bootstrap: lab.bootstrap, host: '127.0.0.1' })
  lab.onTeardown(() => dht.destroy())
  await dht.fullyBootstrapped()
  return dht
}

function openSipChannel(stream: import('hyperdht').NoiseSecretStream) {
  const mux = Protomux.from(stream)
  const channel = mux.createChannel({ protocol: SIP_PROTOCOL })
  if (!channel) throw new Error('no channel')
  const bytes = channel.addMessage<Buffer>({ encoding: c.buffer, onmessage: () => {} })
  channel.open()
  return bytes
}

test('a lookup trace lists every DHT node contacted with hop, parent, RTT and outcome', async () => {
  const alice = await lab.peer('sip:tracer@example.org')
  const bob = await lab.peer('sip:traced@example.org')
  const { keys, trace } = await alice.lookup('sip:traced@example.org', { trace: true })
  assert.deepEqual(keys.map(hex), [hex(bob.identity.keyPair.publicKey)])
  assert.ok(trace)
  assert.equal(trace.target, hex(aorTopic(canonicalAor('sip:traced@example.org'))))
  assert.ok(trace.nodes.length >= 1)
  const addrs = new Set(trace.nodes.map((n) => `${n.host}:${n.port}`))
  trace.nodes.forEach((n, i) => {
    assert.equal(n.seq, i)
    assert.equal(n.host, '127.0.0.1')
    assert.ok(n.hop >= 1)
    if (n.parent === null) assert.equal(n.hop, 1)
    else assert.ok(addrs.has(n.parent), `parent ${n.parent} was visited`)
    if (n.outcome === 'ok') {
      assert.ok(n.rttMs !== null && n.rttMs >= 0)
      assert.match(n.id ?? '', /^[0-9a-f]{64}$/)
    }
  })
  assert.ok(trace.nodes.some((n) => n.records > 0))
  assert.ok(trace.hopsToFirstRecord !== null && trace.hopsToFirstRecord >= 1)
})

test('an impostor announcing a buddy AOR with another key is reported, not used', async () => {
  const alice = await lab.peer('sip:alice-pin@example.org')
  const bob = await lab.peer('sip:bob-pin@example.org')
  assert.equal((await bob.sendMessage('sip:alice-pin@example.org', 'first')).status, 200)
  const impostor = await lab.peer('sip:alice-pin@example.org')

  const second = await bob.sendMessage('sip:alice-pin@example.org', 'second')
  assert.equal(second.status, 200)
  assert.equal(second.publicKey, hex(alice.identity.keyPair.publicKey))
  assert.deepEqual(second.impostors, [hex(impostor.identity.keyPair.publicKey)])

  await alice.close() // graceful leave: only the impostor is left announcing
  await assert.rejects(bob.sendMessage('sip:alice-pin@example.org', 'third'), (err: Error & { code?: string; details?: { found?: string[] } }) => {
    assert.equal(err.code, 'IDENTITY_CHANGED')
    assert.deepEqual(err.details?.found, [hex(impostor.identity.keyPair.publicKey)])
    return true
  })
  assert.equal(impostor.inbox().length, 0)
})

test('a restarted peer comes back with the same identity, registration and inbox', async () => {
  const dataDir = await lab.tempDir()
  const first = await lab.peer('sip:phoenix@example.org', { dataDir })
  const key = hex(first.identity.keyPair.publicKey)
  const friend = await lab.peer('sip:friend@example.org')
  assert.equal((await friend.sendMessage('sip:phoenix@example.org', 'before')).status, 200)
  await first.close()
  assert.equal((await friend.lookup('sip:phoenix@example.org')).keys.length, 0, 'graceful leave unannounces')

  const again = await lab.peer('sip:phoenix@example.org', { dataDir, aor: undefined })
  assert.equal(again.aor, 'sip:phoenix@example.org')
  assert.equal(hex(again.identity.keyPair.publicKey), key)
  assert.deepEqual((await friend.lookup('sip:phoenix@example.org')).keys.map(hex), [key])
  const after = await friend.sendMessage('sip:phoenix@example.org', 'after')
  assert.equal(after.status, 200)
  assert.equal(after.identity, 'pinned')
  assert.deepEqual(again.inbox().map((m) => m.text), ['before', 'after'])
  const cache = JSON.parse(await readFile(join(dataDir, 'host-cache.json'), 'utf8'))
  assert.ok(cache.nodes.length > 0, 'host cache written on graceful leave')
})

test('garbage or an oversized frame on the peer channel closes only that stream', async () => {
  const alice = await lab.peer('sip:sturdy@example.org')
  const friend = await lab.peer('sip:kind@example.org')
  const attacker = await rawNode()
  for (const payload of [Buffer.from('\x00\x01GARBAGE\r\n\r\n'), Buffer.from(`MESSAGE sip:sturdy@example.org SIP/2.0\r\nContent-Length: ${10 ** 9}\r\n\r\n`)]) {
    const stream = attacker.connect(alice.identity.keyPair.publicKey)
    stream.on('error', () => {})
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
    openSipChannel(stream).send(payload)
    await closed
  }
  const result = await friend.sendMessage('sip:sturdy@example.org', 'still there?')
  assert.equal(result.status, 200)
  assert.deepEqual(alice.inbox().map((m) => m.text), ['still there?'])
})

test('480 when the user is registered but unreachable', async () => {
  const alice = await lab.peer('sip:caller480@example.org')
  const bob = await lab.peer('sip:crashed@example.org')
  await bob.overlay.dht.destroy({ force: true }) // a crash: no unannounce, the record stays
  assert.equal((await alice.lookup('sip:crashed@example.org')).keys.length, 1)
  const result = await alice.sendMessage('sip:crashed@example.org', 'are you there?')
  assert.equal(result.status, 480)
  assert.equal(alice.store.get(result.id)?.status, 'failed')
})

test('408 when a reachable peer never answers', async () => {
  const alice = await lab.peer('sip:caller408@example.org')
  const mute = await rawNode()
  const keyPair = HyperDHT.keyPair()
  const server = mute.createServer({}, (stream) => {
    stream.on('error', () => {})
    openSipChannel(stream) // opens the channel, then ignores everything
  })
  await server.listen(keyPair)
  await mute.announce(aorTopic(canonicalAor('sip:mute@example.org')), keyPair, []).finished()
  const result = await alice.sendMessage('sip:mute@example.org', 'hello?')
  assert.equal(result.status, 408)
})

test('with no bootstrap reachable a node starts a new overlay others can join', async () => {
  const first = await lab.peer('sip:pioneer@example.org', { bootstrap: ['127.0.0.1:9'] })
  const status = first.status()
  assert.equal(status.overlay.state, 'new')
  assert.ok(status.overlay.dhtAddress)
  assert.equal(status.registrations[0]?.state, 'announced')
  const second = await lab.peer('sip:settler@example.org', { bootstrap: [status.overlay.dhtAddress] })
  assert.equal(second.status().overlay.state, 'joined')
  assert.equal((await second.sendMessage('sip:pioneer@example.org', 'hi pioneer')).status, 200)
  assert.equal((await first.sendMessage('sip:settler@example.org', 'hi settler')).status, 200)
  assert.deepEqual(first.inbox().map((m) => m.text), ['hi pioneer'])
})

test('the host cache bootstraps a restart whose configured bootstrap is gone', async () => {
  const dataDir = await lab.tempDir()
  const first = await lab.peer('sip:cached@example.org', { dataDir })
  await first.close()
  const again = await lab.peer('sip:cached@example.org', { dataDir, bootstrap: ['127.0.0.1:9'] })
  assert.equal(again.status().overlay.state, 'joined')
  const other = await lab.peer('sip:checker@example.org')
  assert.deepEqual((await other.lookup('sip:cached@example.org')).keys.map(hex), [hex(again.identity.keyPair.publicKey)])
})

test('a node that started its own overlay joins the configured one when it appears', async () => {
  const { createSocket } = await import('node:dgram')
  const probe = createSocket('udp4')
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()))
  const port = probe.address().port
  await new Promise<void>((resolve) => probe.close(() => resolve()))

  const loner = await lab.peer('sip:loner@example.org', { bootstrap: [`127.0.0.1:${port}`], timers: { rejoinMs: 300 } })
  assert.equal(loner.status().overlay.state, 'new')
  const createTestnet = (await import('hyperdht/testnet.js')).default
  const late = await createTestnet(5, { host: '127.0.0.1', port })
  lab.onTeardown(() => late.destroy())
  await new Promise<void>((resolve) => loner.overlay.once('state', () => resolve()))
  assert.equal(loner.status().overlay.state, 'joined')
  assert.ok((loner.status().registrations[0]?.storedAt ?? 0) > 0, 'registration re-announced to the joined overlay')

  const newcomer = await lab.peer('sip:newcomer@example.org', { bootstrap: [`127.0.0.1:${port}`] })
  assert.deepEqual((await newcomer.lookup('sip:loner@example.org')).keys.map(hex), [hex(loner.identity.keyPair.publicKey)])
  assert.equal((await newcomer.sendMessage('sip:loner@example.org', 'found you')).status, 200)
})
