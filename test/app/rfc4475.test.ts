import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from '../helpers/overlay.js'
import { UdpEndpoint } from '../helpers/udp-endpoint.js'
import { SipRequest, SipResponse, type SipMessage } from '../../app/sip/message.js'
import type { Peer } from '../../app/peer.js'

/**
 * Walks ../shared/conformance/rfc4475/manifest.json: every torture message is
 * sent over UDP to a peer that is registrar for example.com (without
 * authentication, as the manifest's registrar cases assume) and a proxy whose
 * DNS resolution sends every other domain to a sink socket. The outcome —
 * forwarded, answered with a status, or dropped — must be one the manifest
 * allows for a proxy/registrar, plus the specific checks it names.
 */
// A copy of ../shared/conformance/rfc4475 (see test/fixtures/rfc4475/SOURCE.md), so a lone clone can run it.
const DIR = join(import.meta.dirname, '../fixtures/rfc4475')
interface Entry { file: string; kind: string; parse: string; proxy: string }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Entry[]

type Outcome = { kind: 'forward'; message: SipRequest; responses: SipResponse[] } | { kind: 'status'; response: SipResponse } | { kind: 'drop' }

let lab: Lab
let peer: Peer
let client: UdpEndpoint
let sink: UdpEndpoint
let sipPort: number

before(async () => {
  lab = await Lab.create(6)
  client = await UdpEndpoint.open()
  sink = await UdpEndpoint.open()
  peer = await lab.peer('sip:torture-owner@parley.test', {
    sip: { udp: 0, auth: 'off', domains: ['example.com'], dns: async () => [{ transport: 'UDP', host: '127.0.0.1', port: sink.port }] }
  })
  sipPort = peer.status().sip.transports[0]?.port ?? 0
  assert.ok(sipPort > 0)
})
after(async () => {
  client.close()
  sink.close()
  await lab.destroy()
})

/** What the manifest allows a proxy/registrar to do with a message. */
function allowed(text: string): Set<string> {
  const out = new Set<string>()
  const either = text.startsWith('either') || text.startsWith('error response')
  if (text.startsWith('forward') || (either && /\bforward/.test(text))) out.add('forward')
  if (text.startsWith('drop')) out.add('drop')
  const codes = either ? [...text.matchAll(/\b([1-6]\d\d)\b/g)].map((m) => m[1]) : [/^([1-6]\d\d)\b/.exec(text)?.[1]]
  for (const c of codes) if (c) out.add(c)
  return out
}

let barrierSeq = 0
function barrier(): Promise<SipMessage> {
  const callId = `barrier-${++barrierSeq}`
  void client.send(
    `OPTIONS sip:127.0.0.1:${sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${client.port};branch=z9hG4bK${callId}\r\nMax-Forwards: 70\r\nFrom: <sip:t@parley.test>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    sipPort
  )
  return client.next((m) => m.callId === callId)
}

/** mpart01 routes to a fixed loopback port; point it at the sink so nothing else on this machine answers. */
function load(file: string): Buffer {
  const raw = readFileSync(join(DIR, file))
  if (file !== 'mpart01.dat') return raw
  const at = raw.indexOf('sip:127.0.0.1:5080')
  return Buffer.concat([raw.subarray(0, at), Buffer.from(`sip:127.0.0.1:${sink.port}`), raw.subarray(at + 'sip:127.0.0.1:5080'.length)])
}

async function exercise(file: string, expectDrop: boolean): Promise<Outcome> {
  const raw = load(file)
  const callId = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(raw.toString('latin1'))?.[1]
  const cseq = /^CSeq[ \t]*:[ \t]*(\d+)/im.exec(raw.toString('latin1'))?.[1]
  const mine = (m: SipMessage) => (callId ? m.callId === callId : m.cseq?.seq === Number(cseq))
  const sinkBefore = sink.received.length
  const clientBefore = client.received.length
  await client.send(raw, sipPort)
  if (expectDrop) {
    await barrier()
    assert.equal(client.received.slice(clientBefore).filter((m) => mine(m) && !m.callId?.startsWith('barrier')).length, 0, `${file}: answered`)
    assert.equal(sink.received.slice(sinkBefore).filter(mine).length, 0, `${file}: forwarded`)
    return { kind: 'drop' }
  }
  // A forwarded request reaches the sink, or the client itself when an earlier REGISTER bound that AOR to it.
  const first = await Promise.race([
    sink.next((m) => m instanceof SipRequest && mine(m) && sink.received.indexOf(m) >= sinkBefore).then((m) => ({ kind: 'forward' as const, m })),
    client.next((m) => m instanceof SipRequest && mine(m) && client.received.indexOf(m) >= clientBefore).then((m) => ({ kind: 'forward' as const, m })),
    client.next((m) => m instanceof SipResponse && m.status >= 200 && mine(m) && client.received.indexOf(m) >= clientBefore).then((m) => ({ kind: 'status' as const, m }))
  ])
  if (first.kind === 'forward') {
    const responses = client.received.slice(clientBefore).filter((m): m is SipResponse => m instanceof SipResponse && mine(m))
    return { kind: 'forward', message: first.m as SipRequest, responses }
  }
  return { kind: 'status', response: first.m as SipResponse }
}

/** Specific checks the manifest names, beyond the outcome class. */
const CHECKS: Record<string, (o: Outcome, raw: string) => void> = {
  'wsinv.dat': (o) => {
    const m = forwarded(o)
    assert.equal(m.get('Max-Forwards'), '67')
    assert.equal(m.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;')
    assert.match(m.getAll('Via')[0] ?? '', /^SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK/)
  },
  'inv2543.dat': (o) => assert.equal(forwarded(o).get('Max-Forwards'), '70'),
  'longreq.dat': (o, raw) => assert.equal(forwarded(o).getAll('Via').length, new SipCount(raw).vias + 1),
  'mpart01.dat': (o, raw) => {
    const body = Buffer.from(raw, 'latin1').subarray(Buffer.from(raw, 'latin1').indexOf('\r\n\r\n') + 4)
    assert.ok(forwarded(o).body.equals(body.subarray(0, 553)))
  },
  'semiuri.dat': (o) => assert.equal(forwarded(o).uri, 'sip:user;par=u%40example.net@example.com'),
  'escnull.dat': (o) => assert.equal(status(o).getAll('Contact').length, 2),
  'dblreq.dat': (o) => assert.equal(status(o).getAll('Contact').length, 1),
  'cparam02.dat': (o) => {
    const contacts = status(o).getAll('Contact')
    assert.equal(contacts.length, 1, 'cparam01 and cparam02 bind the same contact')
    assert.match(contacts[0] ?? '', /^<sip:\+19725552222@gw1\.example\.net;unknownparam>/)
  },
  'cparam01.dat': (o) => assert.match(status(o).getAll('Contact')[0] ?? '', /^<sip:\+19725552222@gw1\.example\.net>;expires=/),
  'regescrt.dat': (o) => assert.match(status(o).getAll('Contact')[0] ?? '', /^<sip:user@example\.com\?Route=%3Csip:sip\.example\.com%3E>/),
  'bext01.dat': (o) => assert.match(status(o).get('Unsupported') ?? '', /noProxiesSupportThis.*norDoAnyProxiesSupportThis/)
}

class SipCount {
  vias: number
  constructor(raw: string) {
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ')
    this.vias = head.split('\r\n').filter((l) => /^(via|v)\s*:/i.test(l)).reduce((n, l) => n + l.split(',').length, 0)
  }
}

function forwarded(o: Outcome): SipRequest {
  assert.equal(o.kind, 'forward')
  return (o as { message: SipRequest }).message
}
function status(o: Outcome): SipResponse {
  assert.equal(o.kind, 'status')
  return (o as { response: SipResponse }).response
}

test('every RFC 4475 torture message is handled as the manifest says for a proxy/registrar', async () => {
  assert.equal(manifest.length, 50)
  for (const entry of manifest) {
    const ok = allowed(entry.proxy)
    assert.ok(ok.size > 0, `${entry.file}: manifest outcome understood`)
    if (process.env.RFC4475_DEBUG) console.error(entry.file)
    const outcome = await exercise(entry.file, ok.size === 1 && ok.has('drop'))
    const got = outcome.kind === 'status' ? String(outcome.response.status) : outcome.kind
    assert.ok(ok.has(got), `${entry.file}: got ${got}${outcome.kind === 'status' ? ` ${outcome.response.reason}` : ''}, manifest allows ${[...ok].join('/')}: ${entry.proxy.slice(0, 120)}`)
    CHECKS[entry.file]?.(outcome, readFileSync(join(DIR, entry.file), 'latin1'))
  }
  // The peer still serves after all of it.
  assert.equal((await barrier()) instanceof SipResponse, true)
})
