import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RelaySelector } from '../../app/relay/relay-selector.js'
import type { RelayChannel, RelayOffer } from '../../app/relay/relay-channel.js'
import { silentLogger } from '../../app/log.js'

const offer: RelayOffer = { af: 0.1, freeSlots: 4, capacity: 8, uptimeS: 3600, turn: { host: '127.0.0.1', port: 3478 }, blindRelay: true }
const grant = { urls: ['turn:127.0.0.1:3478?transport=udp'], username: '1:x', credential: 'c', expiresAt: 1 }

/** Selection logic alone: the super-nodes' answers are scripted (the real protocol is in super-nodes.test.ts). */
function selector(announced: () => Buffer[]) {
  const channel = { offer: async () => offer, credentials: async () => grant } as unknown as RelayChannel
  return new RelaySelector({
    announcers: async () => announced(),
    channel: async () => channel,
    probe: async () => ({ rttMs: 1, loss: 0 }),
    self: Buffer.alloc(32),
    log: silentLogger()
  })
}

test('a gathering that found no relay is not kept: the next call measures again and gets one', async () => {
  let keys: Buffer[] = []
  const s = selector(() => keys)
  const first = await s.plan('c1', { needed: true, reason: 'behind a NAT' })
  assert.equal(first.iceServers.length, 0)
  keys = [Buffer.alloc(32, 7)] // a super-node answers now (e.g. after a slow start)
  const second = await s.plan('c2', { needed: true, reason: 'behind a NAT' })
  assert.equal(second.iceServers.length, 1, second.reason)
})

test('no relay is asked for when the peer is reachable', async () => {
  const s = selector(() => [Buffer.alloc(32, 7)])
  const plan = await s.plan('c3', { needed: false, reason: 'reachable from outside: direct media' })
  assert.deepEqual(plan.iceServers, [])
  assert.equal(plan.needed, false)
})
