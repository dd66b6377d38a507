import assert from 'node:assert/strict'
import { register } from 'node:module'
import { test } from 'node:test'
import { createElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { NodeStatus, TraceEntry } from '../../app/api/contract.js'
import {
  arrowPath,
  closestSoFar,
  hopRadius,
  idFraction,
  pointOnRing,
  ringLayout,
  sharedPrefixBits,
  spreadFractions,
  xorDomain,
  xorLog2Distance
} from '../../renderer/src/components/overlay-geometry.js'

// The views import their stylesheets the Vite way; Node has no loader for CSS.
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function load(url, context, next) { return url.endsWith('.css') ? { format: 'module', source: '', shortCircuit: true } : next(url, context) }`
  )}`
)
const { OverlayMap } = await import('../../renderer/src/components/OverlayMap.js')
const { NodePanel } = await import('../../renderer/src/views/NodePanel.js')

/** A 32-byte hex id starting with `prefix`, padded with `fill`. */
const id = (prefix: string, fill = '0') => prefix.padEnd(64, fill)

// ── Geometry ────────────────────────────────────────────────────────────────

test('an id sits on the ring at the fraction its top bits give', () => {
  assert.equal(idFraction(id('')), 0)
  assert.equal(idFraction(id('4')), 0.25)
  assert.equal(idFraction(id('8')), 0.5)
  assert.equal(idFraction(id('c')), 0.75)
  assert.equal(idFraction(id('', 'f')), (2 ** 32 - 1) / 2 ** 32)
  assert.throws(() => idFraction('not hex'))
})

test('fractions map clockwise from twelve o’clock', () => {
  const c = { x: 400, y: 240 }
  const near = (p: { x: number; y: number }, x: number, y: number) => assert.ok(Math.abs(p.x - x) < 1e-9 && Math.abs(p.y - y) < 1e-9, `${p.x},${p.y} ≠ ${x},${y}`)
  near(pointOnRing(c, 100, 0), 400, 140)
  near(pointOnRing(c, 100, 0.25), 500, 240)
  near(pointOnRing(c, 100, 0.5), 400, 340)
  near(pointOnRing(c, 100, 0.75), 300, 240)
})

test('XOR distance is log2 of the XOR of the two ids', () => {
  const zero = id('')
  assert.equal(xorLog2Distance(zero, zero), Number.NEGATIVE_INFINITY)
  assert.equal(xorLog2Distance(zero, id('', '0').slice(0, 63) + '1'), 0)
  assert.equal(xorLog2Distance(zero, id('8')), 255)
  assert.equal(xorLog2Distance(id('c'), id('8')), 254)
  assert.equal(xorLog2Distance(id('4'), zero), 254)
  // 0x3 = 0b11: log2(3) past bit 0
  assert.ok(Math.abs(xorLog2Distance(zero, '0'.repeat(63) + '3') - Math.log2(3)) < 1e-12)
  // Precision survives the 53-bit cut: 0xc000…: log2 = 255 + log2(1.5)
  assert.ok(Math.abs(xorLog2Distance(zero, id('c')) - (255 + Math.log2(1.5))) < 1e-9)
  assert.equal(sharedPrefixBits(id('c3a1'), id('c3a0')), 15)
  assert.equal(sharedPrefixBits(zero, zero), 256)
  assert.throws(() => xorLog2Distance(zero, 'ab'))
})

test('spreading keeps nodes apart, centred on where they really are', () => {
  const [a, b] = spreadFractions([0.5, 0.5], 0.02)
  assert.ok(Math.abs(a! - 0.49) < 1e-9 && Math.abs(b! - 0.51) < 1e-9, `${a} ${b}`)
  assert.deepEqual(spreadFractions([0.1, 0.6], 0.02), [0.1, 0.6])
  // A cluster across twelve o'clock stays one cluster, around 0.
  const wrapped = spreadFractions([0.995, 0.005, 0.0], 0.02)
  const signed = wrapped.map((f) => (f > 0.5 ? f - 1 : f)).sort((x, y) => x - y)
  assert.ok(signed[1]! - signed[0]! >= 0.02 - 1e-9 && signed[2]! - signed[1]! >= 0.02 - 1e-9, String(signed))
  assert.ok(Math.abs(signed.reduce((s, f) => s + f, 0) / 3) < 0.01, String(signed))
})

test('hop rings shrink inwards and nodes keep their angle', () => {
  const frame = { center: { x: 400, y: 240 }, outerRadius: 190, innerRadius: 70 }
  assert.equal(hopRadius(frame, 1, 3), 190)
  assert.ok(hopRadius(frame, 2, 3) < 190 && hopRadius(frame, 3, 3) >= 70)
  const [p, q] = ringLayout([{ fraction: 0.25, hop: 1 }, { fraction: 0.25, hop: 2 }], frame, 20)
  assert.equal(p!.shownFraction, 0.25)
  assert.equal(q!.shownFraction, 0.25)
  assert.ok(Math.abs(p!.x - 590) < 1e-9 && q!.x < p!.x)
})

test('an arrow runs from the parent’s edge to the child’s edge and bows to its left', () => {
  const arrow = arrowPath({ x: 0, y: 0 }, { x: 100, y: 0 }, { fromRadius: 10, toRadius: 12, bend: 0.2 })
  const tip = arrow.head.split(' ')[0]!.split(',').map(Number)
  assert.ok(Math.abs(Math.hypot(tip[0]! - 100, tip[1]!) - 12) < 0.15, `tip ${tip}`)
  const start = /^M([-\d.]+),([-\d.]+)/.exec(arrow.d)!.slice(1).map(Number)
  assert.ok(Math.abs(Math.hypot(start[0]!, start[1]!) - 10) < 0.15, `start ${start}`)
  // Travelling +x on screen, the left is up (negative y).
  assert.ok(arrow.mid.y < 0, `mid ${arrow.mid.y}`)
  const back = arrowPath({ x: 100, y: 0 }, { x: 0, y: 0 }, { bend: 0.2 })
  assert.ok(back.mid.y > 0, 'the reverse arrow bows the other way')
})

test('the XOR axis spans from just below the closest node to 256 bits, and convergence is a running minimum', () => {
  assert.deepEqual(xorDomain([255.2, null, 243.7, 250]), [242, 256])
  assert.deepEqual(xorDomain([null]), [248, 256])
  assert.deepEqual(closestSoFar([null, 250, 252, 244, null, 246]), [null, 250, 250, 244, 244, 244])
})

// ── Rendering ───────────────────────────────────────────────────────────────

const TARGET = id('4')
const KEY = id('ab12cd34', 'e')
const node = (over: Partial<TraceEntry['trace']['nodes'][number]> & { seq: number; host: string }) => ({
  id: null,
  port: 49737,
  hop: 1,
  parent: null,
  rttMs: 20,
  outcome: 'ok' as const,
  records: 0,
  closerNodes: 20,
  ...over
})

/** A three-hop lookup: two bootstrap nodes and one that timed out, one error, one answer, one late timeout. */
const entry: TraceEntry = TraceEntry.parse({
  aor: 'sip:bob@example.org',
  reason: 'proxy',
  keys: [KEY],
  trace: {
    target: TARGET,
    startedAt: '2025-01-02T03:04:05.000Z',
    durationMs: 212.4,
    hopsToFirstRecord: 3,
    nodes: [
      node({ seq: 0, host: '10.0.0.1', id: id('1f'), rttMs: 31.5 }),
      node({ seq: 1, host: '10.0.0.2', id: id('7a'), rttMs: 18 }),
      node({ seq: 2, host: '10.0.0.3', outcome: 'timeout', rttMs: null }),
      node({ seq: 3, host: '10.0.1.1', id: id('48'), hop: 2, parent: '10.0.0.1:49737', rttMs: 12.2 }),
      node({ seq: 4, host: '10.0.1.2', id: id('5c'), hop: 2, parent: '10.0.0.2:49737', outcome: 'error', rttMs: 40 }),
      node({ seq: 5, host: '10.0.1.3', id: id('43'), hop: 2, parent: '10.0.0.1:49737', rttMs: 9 }),
      node({ seq: 6, host: '10.0.2.1', id: id('4001'), hop: 3, parent: '10.0.1.1:49737', rttMs: 7.5, records: 1 }),
      node({ seq: 7, host: '10.0.2.2', hop: 3, parent: '10.0.1.3:49737', outcome: 'timeout', rttMs: null })
    ]
  }
})
const EDGES = entry.trace.nodes.filter((n) => n.parent !== null).length

const count = (html: string, needle: string | RegExp) => (typeof needle === 'string' ? html.split(needle).length - 1 : (html.match(needle) ?? []).length)

test('the ring view draws every node, every parent→child arrow, the target and the caption', () => {
  const html = renderToStaticMarkup(createElement(OverlayMap, { entry }))
  assert.match(html, /<svg[^>]*role="img"[^>]*aria-label="DHT lookup of sip:bob@example.org: identifier ring"/)
  assert.match(html, /<desc>Lookup of sip:bob@example.org for target 40000000…: 8 nodes contacted over 3 hops in 212 ms\. Records came from #6 10\.0\.2\.1:49737 at hop 3\./)
  assert.equal(count(html, 'data-testid="overlay-map"'), 1)

  assert.equal(count(html, 'data-testid="node"'), entry.trace.nodes.length)
  assert.equal(count(html, 'class="om-node__dot"'), entry.trace.nodes.length)
  assert.equal(count(html, /<g class="om-node[^"]*" data-testid="node"[^>]*tabindex="0"/g), entry.trace.nodes.length)
  assert.equal(count(html, 'data-testid="edge"'), EDGES)
  assert.equal(count(html, /data-testid="edge"><title>[^<]*<\/title><path d="M[^"]+"><\/path><polygon points="[^"]+"><\/polygon><\/g>/g), EDGES)
  assert.match(html, /<title>10\.0\.1\.1:49737 named 10\.0\.2\.1:49737 \(hop 3, 7\.5 ms\)<\/title>/)

  // Shape and colour by outcome; the answer highlighted; id-less nodes dashed.
  assert.equal(count(html, /class="om-node om-node--ok om-node--answer[^"]*" data-testid="node"/g), 1)
  assert.equal(count(html, /class="om-node om-node--timeout om-node--noid" data-testid="node"/g), 2)
  assert.equal(count(html, /class="om-node om-node--error" data-testid="node"/g), 1)
  assert.equal(count(html, 'class="om-node__halo"'), 1)
  assert.match(html, /<title>#6 40010000… 10\.0\.2\.1:49737, hop 3, 7\.5 ms, ok, 1 record \(answer\), XOR distance 2\^[\d.]+<\/title>/)

  // Until a node is focused, the route to the answer is highlighted: 10.0.0.1 → 10.0.1.1 → 10.0.2.1.
  assert.deepEqual([...html.matchAll(/class="om-edge[^"]*om-edge--path" data-testid="edge"><title>([^<]*)</g)].map((m) => m[1]), [
    '10.0.0.1:49737 named 10.0.1.1:49737 (hop 2, 12.2 ms)',
    '10.0.1.1:49737 named 10.0.2.1:49737 (hop 3, 7.5 ms)'
  ])
  assert.deepEqual([...html.matchAll(/om-node--active" data-testid="node" data-seq="(\d+)"/g)].map((m) => Number(m[1])), [0, 3, 6])

  // The target '4…' is a quarter turn round: on the ring's right, at (590, 240).
  assert.equal(count(html, 'data-testid="target-marker"'), 1)
  assert.match(html, /data-testid="target-marker">.*?<path class="om-target__mark" d="M590,231 L599,240 L590,249 L581,240 Z"><\/path>/)

  assert.match(html, /Lookup of <strong>sip:bob@example.org<\/strong>/)
  assert.match(html, /data-testid="caption-duration">212 ms</)
  assert.match(html, /data-testid="caption-hops">first record at hop 3</)
  assert.match(html, /data-testid="caption-keys">1 key found: <code title="ab12cd34e+">ab12cd34…<\/code>/)
  assert.match(html, /8 nodes contacted: 5 replied, 1 error, 2 timed out; records from 1 node/)
})

test('the XOR view plots the same nodes and arrows against distance, with the convergence line', () => {
  const html = renderToStaticMarkup(createElement(OverlayMap, { entry, initialView: 'xor' }))
  assert.match(html, /data-view="xor"/)
  assert.match(html, /aria-pressed="true"[^>]*>XOR distance</)
  assert.equal(count(html, 'data-testid="node"'), entry.trace.nodes.length)
  assert.equal(count(html, 'data-testid="edge"'), EDGES)
  assert.equal(count(html, 'data-testid="target-marker"'), 1)
  assert.match(html, /<path class="om-best" d="M[^"]*V/)
  // The answer (4001…, XOR 2^240) is the lowest dot: below every other node with an id.
  const dots = [...html.matchAll(/data-seq="(\d+)".*?class="om-node__dot" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => ({ seq: Number(m[1]), y: Number(m[2]) }))
  assert.equal(dots.length, entry.trace.nodes.length)
  const withId = dots.filter((d) => entry.trace.nodes[d.seq]!.id !== null)
  assert.equal(Math.max(...withId.map((d) => d.y)), dots.find((d) => d.seq === 6)!.y)
})

test('a lookup without records says so', () => {
  const none = TraceEntry.parse({ ...entry, keys: [], trace: { ...entry.trace, hopsToFirstRecord: null, nodes: entry.trace.nodes.map((n) => ({ ...n, records: 0 })) } })
  const html = renderToStaticMarkup(createElement(OverlayMap, { entry: none }))
  assert.match(html, /data-testid="caption-hops">no record found</)
  assert.match(html, /data-testid="caption-keys">no key found</)
  assert.equal(count(html, /om-node--answer" data-testid="node"/g), 0)
  assert.equal(count(html, /data-testid="node"/g), none.trace.nodes.length)
})

const status: NodeStatus = NodeStatus.parse({
  aor: 'sip:alice@example.org',
  displayName: 'Alice',
  publicKey: id('ab'),
  fingerprint: 'ab00 0000 0000',
  role: 'client',
  uptimeS: 26 * 3600 + 3 * 60 + 4.7,
  overlay: {
    state: 'joined',
    dhtAddress: '203.0.113.7:49737',
    routingTableSize: 2,
    firewalled: true,
    routingTable: [
      { id: id('12'), host: '10.0.0.1', port: 49737 },
      { id: id('f0'), host: '10.0.0.2', port: 49738 }
    ]
  },
  connections: 3,
  traffic: { bytesIn: 1536, bytesOut: 5 * 1024 * 1024, packetsIn: 1, packetsOut: 12345 },
  registrations: [{ aor: 'sip:alice@example.org', state: 'announced', lastAnnouncedAt: null, storedAt: 20, error: null }],
  messages: { received: 4, sent: 2 },
  sip: { transports: [{ transport: 'udp', host: '127.0.0.1', port: 5060 }], boundAors: 1, transactions: { server: 0, client: 1 } },
  relay: {
    mode: 'never',
    role: 'client',
    reason: 'super-node mode is never',
    since: '2026-01-01T00:00:00.000Z',
    annoyance: {
      af: 1,
      terms: { cpu: 0, bandwidth: 0, calls: 0, interactivity: 0 },
      veto: 'never-relay',
      inputs: { cpuProcess: 0, cpuSystem: 0, bytesInPerS: 0, bytesOutPerS: 0, relayBytesPerS: 0, relayedCalls: 0, uptimeS: 0, firewalled: true, randomized: false, idleS: null, onBattery: null },
      limits: { relayMaxKbps: 4000, relayMaxCalls: 8, neverRelay: true },
      thresholds: { promote: 0.3, demote: 0.6 }
    },
    services: { turn: null, blindRelay: false, allocations: 0, blindSessions: 0, freeSlots: 0, refused: 0 },
    sampledSuperNodes: 0
  }
})

test('the node panel shows the role, uptime, traffic and routing table', () => {
  for (const role of ['client', 'super-node'] as const) {
    const html = renderToStaticMarkup(createElement(NodePanel, { status: { ...status, role } }))
    assert.equal(/data-testid="node-role">([^<]*)</.exec(html)?.[1], role)
  }
  const html = renderToStaticMarkup(createElement(NodePanel, { status }))
  assert.match(html, /data-testid="node-uptime">26:03:04</)
  assert.match(html, /data-testid="node-traffic-in">1\.5 KiB · 1 packet</)
  assert.match(html, /data-testid="node-traffic-out">5\.0 MiB · 12,345 packets</)
  assert.match(html, /<h3 id="node-panel-routing">Routing table <span[^>]*>\(2 nodes\)/)
  assert.equal(count(html, 'class="node-panel__ring-dot"'), 2)
  assert.match(html, /<code>UDP 127\.0\.0\.1:5060<\/code>/)
  assert.match(html, /<dt>Firewalled<\/dt><dd class="node-panel__warn">yes/)
})

test('the node panel lists LAN neighbours, says whether this peer announces itself, and when discovery is off', () => {
  const off = renderToStaticMarkup(createElement(NodePanel, { status }))
  assert.match(off, /data-testid="node-lan">Discovery off/)
  const lan = { advertising: false, mode: 'advertise' as const, peers: [{ aor: 'sip:bob@example.org', displayName: 'Bob', publicKey: id('cd'), address: '10.0.0.3', dht: '10.0.0.3:49737' }], phones: [] }
  const html = renderToStaticMarkup(createElement(NodePanel, { status: { ...status, overlay: { ...status.overlay, lan } } }))
  assert.match(html, /data-testid="node-lan">Not announcing this peer \(privacy setting\)/)
  assert.match(html, /<strong>sip:bob@example\.org<\/strong> \(Bob\) at <code>10\.0\.0\.3<\/code>/)
  const browse = renderToStaticMarkup(createElement(NodePanel, { status: { ...status, overlay: { ...status.overlay, lan: { ...lan, mode: 'browse' as const } } } }))
  assert.match(browse, /data-testid="node-lan">Not announcing this peer \(started with --lan browse\)/)
  assert.doesNotMatch(html, /node-lan-phones/)
  const phones = [{ aor: 'sip:carol@example.org', displayName: 'Carol', contact: 'sip:carol@10.0.0.7:5070', address: '10.0.0.7' }]
  const withPhone = renderToStaticMarkup(createElement(NodePanel, { status: { ...status, overlay: { ...status.overlay, lan: { ...lan, phones } } } }))
  assert.match(withPhone, /data-testid="node-lan-phones"><li><strong>sip:carol@example\.org<\/strong> \(Carol\) at <code>sip:carol@10\.0\.0\.7:5070<\/code>/)
})
