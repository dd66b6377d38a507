/**
 * HyperDHT across a namespace-built internet (test/lab/README.md): NAT
 * mappings, HyperDHT's view of its own reachability, hole punching between two
 * cone NATs, and a blind relay between two symmetric NATs. Also checks that
 * Chromium started through `chromiumWrapper` lives in its namespace.
 *
 * Needs root (CI runs as root): without it every test here fails with a
 * message saying so. Nothing here touches the public DHT: every node gets the
 * lab's bootstrap node explicitly.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { chromiumWrapper, waitForJson } from './netns.js'
import { startTopology, type LabHost, type Topology } from './topology.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')
const NODE = process.execPath
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

interface Listening { host: string; port: number }
interface Mapping { localPort: number; seen: Array<{ target: string; host: string; port: number }> }
interface Status { firewalled: boolean; randomized: boolean; host: string | null; port: number }
interface Reply { id: number; ok: boolean; error?: { code: string; message: string }; [k: string]: unknown }

/** A dht-peer.mjs process: a plain HyperDHT node driven over stdin/stdout JSON lines. */
class Peer {
  private nextId = 0
  constructor(readonly host: LabHost, readonly child: ChildProcess) {}

  static async start(host: LabHost, bootstrap: string[]): Promise<Peer> {
    const child = host.spawn(NODE, [join(FIXTURES, 'dht-peer.mjs'), bootstrap.join(',')])
    await waitForJson(child, (m) => m.event === 'ready', 30_000)
    return new Peer(host, child)
  }

  async call(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Reply> {
    const id = ++this.nextId
    this.child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n')
    return waitForJson<Reply>(this.child, (m) => m.id === id, timeoutMs)
  }
}

describe('NAT lab: HyperDHT across cone and symmetric NATs', () => {
  let topo: Topology | undefined
  let echoes: Listening[] = []
  let bootstrap: string[] = []
  let relay: { child: ChildProcess; publicKey: string; host: string }
  const peers = new Map<string, Peer>()
  const host = (name: string) => topo!.host(name)

  before(async () => {
    // Fails (never skips) without root or without iproute2/iptables.
    topo = await startTopology({
      hosts: [
        { name: 'pub1', nat: 'public' },
        { name: 'pub2', nat: 'public' },
        { name: 'open', nat: 'none' },
        { name: 'cone1', nat: 'cone' },
        { name: 'cone2', nat: 'cone' },
        { name: 'sym1', nat: 'symmetric' },
        { name: 'sym2', nat: 'symmetric' }
      ]
    })
    const pub1 = host('pub1')
    const pub2 = host('pub2')
    echoes = await Promise.all(
      [pub1, pub2].map((h) => waitForJson<Listening>(h.spawn(NODE, [join(FIXTURES, 'udp-echo.mjs'), h.address])))
    )
    const dht = pub1.spawn(NODE, [join(FIXTURES, 'dht-bootstrap.mjs'), '--host', pub1.address, '--nodes', '6'])
    bootstrap = (await waitForJson<{ bootstrap: string[] }>(dht, (m) => m.event === 'ready', 30_000)).bootstrap
    const relayChild = pub2.spawn(NODE, [join(FIXTURES, 'dht-relay.mjs'), pub2.address, bootstrap.join(',')])
    const started = await Promise.all([
      waitForJson<{ publicKey: string }>(relayChild, (m) => m.event === 'ready', 30_000),
      ...['open', 'cone1', 'cone2', 'sym1', 'sym2'].map(async (name) => peers.set(name, await Peer.start(host(name), bootstrap)))
    ])
    relay = { child: relayChild, publicKey: (started[0] as { publicKey: string }).publicKey, host: pub2.address }
  })

  after(async () => {
    await topo?.close()
  })

  test('(a) a cone NAT keeps one public port for every destination, a symmetric NAT picks a new one per destination', async () => {
    const probe = async (name: string) => {
      const child = host(name).spawn(NODE, [join(FIXTURES, 'udp-probe.mjs'), ...echoes.map((e) => `${e.host}:${e.port}`)])
      return waitForJson<Mapping>(child, (m) => m.event === 'mapping')
    }
    const open = await probe('open')
    assert.deepEqual(open.seen.map((s) => [s.host, s.port]), [[host('open').address, open.localPort], [host('open').address, open.localPort]])

    for (const name of ['cone1', 'cone2', 'sym1', 'sym2']) {
      const m = await probe(name)
      const [first, second] = m.seen
      assert.ok(first && second)
      // both destinations see the router's WAN address, never the LAN address
      assert.equal(first.host, host(name).publicAddress, `${name}: source address seen by ${first.target}`)
      assert.equal(second.host, host(name).publicAddress, `${name}: source address seen by ${second.target}`)
      if (host(name).nat === 'cone') assert.equal(first.port, second.port, `${name}: cone NAT must map both destinations to one port`)
      else assert.notEqual(first.port, second.port, `${name}: symmetric NAT must map each destination to its own port`)
    }
  })

  test('(b) HyperDHT sees itself unfirewalled only on the public host, and randomized only behind symmetric NATs', async () => {
    const expected: Record<string, Pick<Status, 'firewalled' | 'randomized'>> = {
      open: { firewalled: false, randomized: false },
      cone1: { firewalled: true, randomized: false },
      cone2: { firewalled: true, randomized: false },
      sym1: { firewalled: true, randomized: true },
      sym2: { firewalled: true, randomized: true }
    }
    for (const [name, want] of Object.entries(expected)) {
      // the status settles while the node samples the DHT: give it a few seconds
      let status: Status | undefined
      for (const until = Date.now() + 10_000; ; ) {
        status = (await peers.get(name)!.call('status')) as unknown as Status
        if ((status.firewalled === want.firewalled && status.randomized === want.randomized) || Date.now() > until) break
        await new Promise((r) => setTimeout(r, 250))
      }
      assert.deepEqual({ firewalled: status.firewalled, randomized: status.randomized }, want, name)
      // the address the DHT reports is the public one (the router's WAN behind a NAT)
      assert.equal(status.host, host(name).publicAddress, `${name}: address seen by the DHT`)
    }
  })

  test('(c) cone → cone: HyperDHT punches a direct path and the encrypted stream carries bytes both ways', async () => {
    const server = await peers.get('cone2')!.call('listen')
    assert.ok(server.ok, JSON.stringify(server))
    const res = await peers.get('cone1')!.call('connect', { publicKey: server.publicKey, message: 'hello from cone1' })
    assert.ok(res.ok, `connect failed: ${JSON.stringify(res.error)}`)
    assert.equal(res.reply, 'echo:hello from cone1')
    // direct: the UDX stream goes to cone2's NAT, not through a relay
    assert.equal(res.remoteHost, host('cone2').publicAddress)
  })

  test('(d) symmetric → symmetric fails without a relay and works through a blind relay', async () => {
    const server = await peers.get('sym2')!.call('listen')
    assert.ok(server.ok, JSON.stringify(server))
    const sym1 = peers.get('sym1')!

    const direct = await sym1.call('connect', { publicKey: server.publicKey, message: 'direct?' })
    assert.equal(direct.ok, false, 'two randomized NATs cannot be hole-punched')
    // connect.js aborts with HOLEPUNCH_DOUBLE_RANDOMIZED_NATS; destroying the
    // puncher surfaces first as HOLEPUNCH_ABORTED.
    assert.ok(
      ['HOLEPUNCH_DOUBLE_RANDOMIZED_NATS', 'HOLEPUNCH_ABORTED'].includes(direct.error!.code),
      `unexpected error ${JSON.stringify(direct.error)}`
    )

    const relayed = await sym1.call('connect', { publicKey: server.publicKey, message: 'via relay', relayThrough: relay.publicKey })
    assert.ok(relayed.ok, `relayed connect failed: ${JSON.stringify(relayed.error)}`)
    assert.equal(relayed.reply, 'echo:via relay')
    // the UDX stream runs to the relay's public address
    assert.equal(relayed.remoteHost, relay.host)
    relay.child.stdin!.write('stats\n')
    const stats = await waitForJson<{ pairings: { matched: number } }>(relay.child, (m) => m.event === 'stats')
    assert.ok(stats.pairings.matched >= 1, `relay paired nobody: ${JSON.stringify(stats)}`)
  })

  test('(e) chromiumWrapper: a page runs inside the namespace (its loopback, its NAT)', async () => {
    const cone1 = host('cone1')
    const pub1 = host('pub1')
    const local = await waitForJson<{ url: string }>(cone1.spawn(NODE, [join(FIXTURES, 'http-hello.mjs'), '127.0.0.1', 'inside-cone1']))
    const remote = await waitForJson<{ url: string }>(pub1.spawn(NODE, [join(FIXTURES, 'http-hello.mjs'), pub1.address, 'on-pub1']))
    // the namespace's loopback is not ours
    await assert.rejects(fetch(local.url))
    const browser = await chromium.launch({ executablePath: await chromiumWrapper(cone1.ns), args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage()
      await page.goto(local.url)
      assert.equal(await page.textContent('#marker'), 'inside-cone1')
      await page.goto(remote.url)
      assert.equal(await page.textContent('#marker'), 'on-pub1')
    } finally {
      await browser.close()
    }
  })
})
