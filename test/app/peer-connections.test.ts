import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import HyperDHT, { type NoiseSecretStream } from 'hyperdht'
import { Lab } from '../helpers/overlay.js'
import type { Peer } from '../../app/peer.js'

let lab: Lab
before(async () => {
  lab = await Lab.create(10)
})
after(() => lab.destroy())

/**
 * A connect that stalls as one does when its findPeer replies are lost: it runs
 * on a real DHT node whose only bootstrap is a bound UDP port that never answers.
 */
async function stallingNode(): Promise<HyperDHT> {
  const silent = createSocket('udp4')
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()))
  const dht = new HyperDHT({ bootstrap: [`127.0.0.1:${silent.address().port}`], host: '127.0.0.1' })
  lab.onTeardown(async () => {
    await dht.destroy()
    silent.close()
  })
  return dht
}

/** The first `n` connects of `peer` go through `first`; the rest are its own. */
function redirectFirstConnects(peer: Peer, n: number, first: (key: Buffer) => NoiseSecretStream): NoiseSecretStream[] {
  const own = peer.overlay.connect.bind(peer.overlay)
  const made: NoiseSecretStream[] = []
  peer.overlay.connect = (key: Buffer) => {
    const stream = made.length < n ? first(key) : own(key)
    made.push(stream)
    return stream
  }
  return made
}

test('a peer-stream connect that stalls is hedged by a second attempt: the MESSAGE arrives and the stalled stream is destroyed', async () => {
  const alice = await lab.peer('sip:hedge-a@example.org')
  const bob = await lab.peer('sip:hedge-b@example.org')
  const stalling = await stallingNode()
  const made = redirectFirstConnects(alice, 1, (key) => stalling.connect(key))

  const result = await alice.sendMessage('sip:hedge-b@example.org', 'through the second attempt')
  assert.equal(result.status, 200, `${result.status} ${result.reason}`)
  assert.equal(bob.inbox().at(-1)?.text, 'through the second attempt')
  assert.equal(made.length, 2)
  assert.ok(made[0]!.destroyed, 'the stalled attempt is destroyed once the second opened')
  assert.equal(alice.connections.size, 1, 'one flow to bob is kept')
})

test('a connect that fails at once is retried at once; two failures make the peer unreachable with both reasons', async () => {
  const alice = await lab.peer('sip:retry-a@example.org')
  const bob = await lab.peer('sip:retry-b@example.org')
  const bobKey = bob.identity.keyPair.publicKey
  // A suspended DHT node refuses every connect at once (SUSPENDED): a real, immediate failure.
  const suspended = new HyperDHT({ bootstrap: lab.bootstrap, host: '127.0.0.1' })
  lab.onTeardown(() => suspended.destroy())
  await suspended.fullyBootstrapped()
  await suspended.suspend()

  const made = redirectFirstConnects(alice, 1, (key) => suspended.connect(key))
  const flow = await alice.connections.flowTo(bobKey)
  assert.ok(flow.open)
  assert.equal(made.length, 2)

  const carol = await lab.peer('sip:retry-c@example.org')
  redirectFirstConnects(carol, 2, (key) => suspended.connect(key))
  await assert.rejects(carol.connections.flowTo(bobKey), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PEER_UNREACHABLE')
    assert.match(err.message, /SUSPENDED.*SUSPENDED/)
    return true
  })
})
