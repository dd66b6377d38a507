import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:net'
import { Lab } from '../helpers/overlay.js'
import { TestUa } from '../helpers/sip-ua.js'
import type { Peer } from '../../app/peer.js'
import { mutate, rng } from '../helpers/mutate.js'

/**
 * Robustness (issue: "nothing crashes the peer or grows memory without bound"):
 * thousands of mutated messages from the RFC 4475 set and from valid traffic,
 * over UDP and TCP, then a valid OPTIONS must still be answered and the peer's
 * tables must be bounded.
 */
// A copy of ../shared/conformance/rfc4475 (see test/fixtures/rfc4475/SOURCE.md), so a lone clone can run it.
const DIR = join(import.meta.dirname, '../fixtures/rfc4475')
const seeds = readdirSync(DIR).filter((f) => f.endsWith('.dat')).map((f) => readFileSync(join(DIR, f)))

let lab: Lab
let peer: Peer
let probe: TestUa

before(async () => {
  lab = await Lab.create(5)
  peer = await lab.peer('sip:fuzz-owner@parley.test', {
    sip: { udp: 0, tcp: 0, dns: false, rateLimit: { ratePerSecond: 1_000_000, burst: 1_000_000 } }
  })
  probe = await TestUa.open('sip:probe@parley.test', udpPort())
})
after(async () => {
  probe.close()
  await lab.destroy()
})

const udpPort = () => peer.status().sip.transports.find((t) => t.transport === 'UDP')?.port ?? 0
const tcpPort = () => peer.status().sip.transports.find((t) => t.transport === 'TCP')?.port ?? 0

async function stillAnswers(): Promise<void> {
  const res = await probe.send(probe.request('OPTIONS', `sip:127.0.0.1:${udpPort()}`))
  assert.equal(res.status, 200)
}

test('thousands of mutated messages over UDP and TCP leave the peer answering and bounded', async () => {
  const r = rng(4475)
  const valid = [
    probe.request('OPTIONS', 'sip:someone@example.org').serialize(),
    probe.request('REGISTER', 'sip:example.org', { to: '<sip:probe@example.org>' }).serialize(),
    probe.request('MESSAGE', 'sip:fuzz-owner@parley.test', { headers: [['Content-Type', 'text/plain']], body: 'hello' }).serialize(),
    probe.request('INVITE', 'sip:x@127.0.0.1', { body: 'v=0\r\n', headers: [['Content-Type', 'application/sdp']] }).serialize()
  ]
  const corpus = [...seeds, ...valid]
  let sent = 0
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 250; i++) {
      const base = corpus[Math.floor(r() * corpus.length)] as Buffer
      await probe.endpoint.send(mutate(base, r).subarray(0, 65000), udpPort())
      sent++
    }
    if (process.env.FUZZ_DEBUG) console.error('round', round, JSON.stringify(peer.status().sip))
    await stillAnswers()
  }
  for (let i = 0; i < 300; i++) {
    const socket = connect(tcpPort(), '127.0.0.1')
    socket.on('error', () => {})
    const base = corpus[Math.floor(r() * corpus.length)] as Buffer
    await new Promise<void>((resolve) => socket.write(Buffer.concat([mutate(base, r), mutate(base, r)]), () => resolve()))
    socket.destroy()
    sent++
  }
  assert.ok(sent >= 5300)
  await stillAnswers()
  const status = peer.status()
  assert.ok(status.sip.transactions.server + status.sip.transactions.client < 10_000, JSON.stringify(status.sip.transactions))
  assert.equal(status.sip.boundAors, 0, 'nothing was bound without authentication')
  assert.ok(process.memoryUsage().heapUsed < 512 * 1024 * 1024)
})
