import assert from 'node:assert/strict'
import { register } from 'node:module'
import { test } from 'node:test'
import * as React from 'react'
import { createElement as h } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { DEFAULT_SETTINGS, NodeStatus, type Identity, type RelayCandidate, type RelayPlan } from '../../app/api/contract.js'
import type { CallRelayView } from '../../renderer/src/phone/call-relays.js'
import type { AudioDevices } from '../../renderer/src/phone/devices.js'
import type { CallView } from '../../renderer/src/phone/phone.js'

// The views import their stylesheets the Vite way; Node has no loader for CSS.
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function load(url, context, next) { return url.endsWith('.css') ? { format: 'module', source: '', shortCircuit: true } : next(url, context) }`
  )}`
)
// components/Keypad.tsx has no JSX pragma, so under tsx it compiles to React.createElement on a global.
Object.assign(globalThis, { React })
const { RelayDiagnostics } = await import('../../renderer/src/views/RelayDiagnostics.js')
const { CallPanel } = await import('../../renderer/src/views/CallPanel.js')
const { NodePanel } = await import('../../renderer/src/views/NodePanel.js')
const { Settings, parseLimit } = await import('../../renderer/src/views/Settings.js')

const key = (c: string) => c.repeat(64)
const all = (html: string, re: RegExp) => [...html.matchAll(re)].map((m) => m[1])
const unescape = (t: string) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&amp;/g, '&')
const textOf = (html: string, testId: string) => {
  const text = new RegExp(`data-testid="${testId}"[^>]*>([^<]*)<`).exec(html)?.[1]
  return text === undefined ? undefined : unescape(text)
}

const candidate = (publicKey: string, role: RelayCandidate['role'], reason: string): RelayCandidate => ({
  publicKey,
  turn: role === 'rejected' ? null : '203.0.113.5:3478',
  af: 0.12,
  freeSlots: 5,
  uptimeS: 7_200,
  rttMs: 31,
  loss: 0.02,
  role,
  reason
})
const plan: RelayPlan = {
  callId: 'c1',
  needed: true,
  reason: 'behind a symmetric NAT',
  iceServers: [{ urls: ['turn:203.0.113.5:3478?transport=udp'], username: 'u', credential: 'p' }],
  // The peer lists them in no particular order; the view puts the primary first.
  candidates: [candidate(key('d'), 'rejected', 'RTT 400 ms > 250 ms'), candidate(key('b'), 'backup', 'backup 1'), candidate(key('a'), 'primary', 'lowest af'), candidate(key('c'), 'backup', 'backup 2')],
  chosenAt: '2025-01-01T00:00:00.000Z'
}
const relayed: CallRelayView = {
  plan,
  planError: null,
  planMs: 140,
  recovery: 'up',
  path: {
    kind: 'relayed',
    localRelayed: true,
    remoteRelayed: false,
    local: { type: 'relay', address: '203.0.113.5', port: 61000, protocol: 'udp', url: 'turn:203.0.113.5:3478?transport=udp', relayProtocol: 'udp' },
    remote: { type: 'srflx', address: '198.51.100.9', port: 40000, protocol: 'udp', url: null, relayProtocol: null }
  },
  failovers: [
    { at: Date.parse('2025-01-01T00:01:00Z'), kind: 'failover', from: key('e'), to: key('a'), interruptedMs: 2_900, attempts: 2, error: null },
    { at: Date.parse('2025-01-01T00:05:00Z'), kind: 'remote', from: null, to: null, interruptedMs: 3_200, attempts: 0, error: null }
  ]
}

test('call diagnostics: the path, the relays (primary, backups, rejected with why) and each failover', () => {
  const html = renderToStaticMarkup(h(RelayDiagnostics, { relay: relayed }))
  assert.match(html, /data-testid="relay-diagnostics"/)
  assert.equal(textOf(html, 'media-path'), 'relayed')
  assert.match(html, /turn:203\.0\.113\.5:3478\?transport=udp/, 'which TURN server carries it')
  assert.deepEqual(all(html, /data-testid="relay-candidate" data-role="([^"]+)"/g), ['primary', 'backup', 'backup', 'rejected'])
  assert.match(html, /RTT 400 ms &gt; 250 ms/)
  assert.match(html, />31 ms</)
  assert.match(html, />2\.0 %</)
  assert.match(html, />2:00:00</, 'uptime')
  const failovers = /data-testid="relay-failovers".*$/s.exec(html)?.[0] ?? ''
  assert.deepEqual(all(failovers, /data-kind="([^"]+)"/g), ['failover', 'remote'])
  assert.match(failovers, /eeeeeeee… → aaaaaaaa…/)
  assert.match(failovers, /media back after 2\.9 s/)
  assert.match(failovers, /2 re-INVITEs/)
})

test('call diagnostics: a direct path; no plan because the request failed, and why', () => {
  const direct: CallRelayView = {
    ...relayed,
    plan: null,
    planError: 'relay.forCall gave no answer in 3 s: calling without relays',
    failovers: [],
    path: { ...(relayed.path as NonNullable<CallRelayView['path']>), kind: 'direct', localRelayed: false, local: { ...(relayed.path as NonNullable<CallRelayView['path']>).local, type: 'host', url: null } }
  }
  const html = renderToStaticMarkup(h(RelayDiagnostics, { relay: direct }))
  assert.equal(textOf(html, 'media-path'), 'direct')
  assert.equal(textOf(html, 'relay-plan-error'), direct.planError)
  assert.equal(all(html, /data-testid="relay-candidate"/g).length, 0)
  assert.match(/data-testid="relay-failovers".*$/s.exec(html)?.[0] ?? '', /None/)
  const restarted = renderToStaticMarkup(h(RelayDiagnostics, { relay: { ...direct, failovers: [{ at: 0, kind: 'restart', from: null, to: null, interruptedMs: 8_300, attempts: 1, error: null }] } }))
  assert.match(restarted, /ICE restart: media back after 8\.3 s/, 'no relay to name on a direct path')
  // Before media flows there is no path to name.
  assert.doesNotMatch(renderToStaticMarkup(h(RelayDiagnostics, { relay: { ...direct, path: null } })), /data-testid="media-path"/)
})

const call: CallView = {
  id: 'c1',
  direction: 'outgoing',
  peer: 'sip:bob@example.org',
  peerName: null,
  state: 'connected',
  muted: false,
  earlyMedia: false,
  startedAt: 0,
  answeredAt: 0,
  endedAt: null,
  endCause: null,
  sipStatus: 200,
  transfer: 'none',
  relay: relayed
}
const noop = () => undefined
const actions = { answer: noop, decline: noop, hangup: noop, toggleMute: noop, toggleHold: noop, transfer: noop, dtmf: noop, dismiss: noop, addParticipant: noop }

test('the call panel shows the diagnostics, and says so while media is being brought back', () => {
  const html = renderToStaticMarkup(h(CallPanel, { call, quality: null, actions }))
  assert.match(html, /data-testid="call-diagnostics"/)
  assert.match(html, /data-testid="relay-diagnostics"/)
  assert.doesNotMatch(html, /data-testid="call-media-interrupted"/)
  const down = renderToStaticMarkup(h(CallPanel, { call: { ...call, relay: { ...relayed, recovery: 'recovering' } }, quality: null, actions }))
  assert.match(down, /data-testid="call-media-interrupted"[^>]*>[^<]*reconnecting/)
  assert.doesNotMatch(renderToStaticMarkup(h(CallPanel, { call: { ...call, relay: null }, quality: null, actions })), /relay-diagnostics/)
})

const status = NodeStatus.parse({
  aor: 'sip:alice@example.org',
  displayName: null,
  publicKey: key('a'),
  fingerprint: 'aaaa aaaa',
  role: 'super-node',
  uptimeS: 4_000,
  overlay: { state: 'joined', dhtAddress: null, routingTableSize: 0, firewalled: false, routingTable: [] },
  connections: 0,
  traffic: { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 },
  registrations: [],
  messages: { received: 0, sent: 0 },
  sip: { transports: [], boundAors: 0, transactions: { server: 0, client: 0 } },
  relay: {
    mode: 'auto',
    role: 'super-node',
    reason: 'af 0.12 < 0.30 for 60 s, reachable, up 900 s',
    since: '2025-01-01T00:00:00.000Z',
    annoyance: {
      af: 0.123,
      terms: { cpu: 0.05, bandwidth: 0.1, calls: 0.25, interactivity: 0 },
      veto: null,
      inputs: { cpuProcess: 0.02, cpuSystem: 0.31, bytesInPerS: 2048, bytesOutPerS: 4096, relayBytesPerS: 1024, relayedCalls: 2, uptimeS: 900, firewalled: false, randomized: false, idleS: 600, onBattery: null },
      limits: { relayMaxKbps: 4000, relayMaxCalls: 8, neverRelay: false },
      thresholds: { promote: 0.3, demote: 0.6 }
    },
    services: { turn: { host: '203.0.113.5', port: 3478 }, blindRelay: true, allocations: 3, blindSessions: 1, freeSlots: 5, refused: 7 },
    sampledSuperNodes: 4
  }
})

test('the node panel: af with its terms and inputs, the role and why, the services, the super-node mode', () => {
  const html = renderToStaticMarkup(h(NodePanel, { status }))
  assert.equal(textOf(html, 'node-af'), '0.12')
  assert.equal(textOf(html, 'node-role'), 'super-node')
  assert.equal(textOf(html, 'node-role-reason'), status.relay.reason)
  assert.deepEqual(all(html, /data-testid="af-term" data-term="([^"]+)"/g), ['cpu', 'bandwidth', 'calls', 'interactivity'])
  assert.match(html, /<select[^>]*data-testid="supernode-mode"/)
  assert.deepEqual(all(html, /<option value="(auto|always|never)"/g), ['auto', 'always', 'never'])
  assert.match(html, /<option value="auto" selected="">/)
  assert.match(html, /<code>203\.0\.113\.5:3478<\/code>/)
  assert.equal(textOf(html, 'node-turn-allocations'), '3')
  assert.equal(textOf(html, 'node-free-slots'), '5')
  assert.equal(textOf(html, 'node-refused'), '7')
  assert.match(html, /CPU<\/dt><dd>2 % of the machine \(system 31 %\)/)
  assert.match(html, /Idle<\/dt><dd>10 min/)
  assert.match(html, /Battery<\/dt><dd>unknown/)
  assert.match(html, /promote below 0\.3, step down above 0\.6/)
})

test('the node panel: a vetoed af, a client without TURN, stepping down', () => {
  const vetoed = {
    ...status,
    role: 'client' as const,
    relay: { ...status.relay, mode: 'never' as const, role: 'stepping-down' as const, annoyance: { ...status.relay.annoyance, af: 1, veto: 'battery' }, services: { ...status.relay.services, turn: null } }
  }
  const html = renderToStaticMarkup(h(NodePanel, { status: vetoed }))
  assert.equal(textOf(html, 'node-af'), '1.00')
  assert.equal(textOf(html, 'node-af-veto'), 'vetoed: battery')
  assert.match(html, /stepping down/)
  assert.match(html, /TURN<\/dt><dd>not running/)
  assert.match(html, /<option value="never" selected="">/)
})

const identity: Identity = { aor: 'sip:alice@example.org', displayName: null, publicKey: null, fingerprint: 'ff', state: 'running' }
const devices = { list: () => Promise.resolve([]), onChange: () => () => undefined } as unknown as AudioDevices

test('settings: the relay limits, with the contract’s bounds', () => {
  const html = renderToStaticMarkup(h(Settings, { identity, settings: { ...DEFAULT_SETTINGS, relayMaxKbps: 2500, relayMaxCalls: 3, neverRelay: true }, update: () => Promise.resolve(), devices }))
  assert.match(html, /<input[^>]*data-testid="setting-relay-max-kbps"[^>]*value="2500"/)
  assert.match(html, /<input[^>]*data-testid="setting-relay-max-kbps"[^>]*min="64"/)
  assert.match(html, /<input[^>]*data-testid="setting-relay-max-calls"[^>]*value="3"/)
  assert.match(html, /<input[^>]*data-testid="setting-never-relay"[^>]*checked=""/)
})

test('a typed limit is kept only when it is a whole number within the bounds', () => {
  const bounds = { min: 64, max: 10_000_000 }
  assert.deepEqual(parseLimit('2500', bounds), { ok: true, value: 2500 })
  assert.deepEqual(parseLimit(' 64 ', bounds), { ok: true, value: 64 })
  assert.deepEqual(parseLimit('63', bounds), { ok: false, error: 'at least 64' })
  assert.deepEqual(parseLimit('10000001', bounds), { ok: false, error: 'at most 10000000' })
  assert.deepEqual(parseLimit('1.5', bounds), { ok: false, error: 'a whole number' })
  assert.deepEqual(parseLimit('', bounds), { ok: false, error: 'a whole number' })
  assert.deepEqual(parseLimit('12abc', bounds), { ok: false, error: 'a whole number' })
})
