import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createConnection } from 'node:net'
import HyperDHT from 'hyperdht'
import { Lab } from '../helpers/overlay.js'
import { PeerSipFlow } from '../../app/overlay/peer-sip-flow.js'
import { SipRequest, SipResponse, newBranch, type SipMessage } from '../../app/sip/message.js'
import { startControlServer } from '../../app/cli/control-server.js'
import { silentLogger } from '../../app/log.js'
import { ApiService } from '../../app/api/api-service.js'
import { PeerSession } from '../../app/peer-session.js'
import type { Peer } from '../../app/peer.js'
import { TestUa } from '../helpers/sip-ua.js'

let lab: Lab
let peer: Peer
let flow: PeerSipFlow

before(async () => {
  lab = await Lab.create(8)
  peer = await lab.peer('sip:target@example.org')
  const dht = new HyperDHT({ bootstrap: lab.bootstrap, host: '127.0.0.1' })
  lab.onTeardown(() => dht.destroy())
  flow = new PeerSipFlow(dht.connect(peer.identity.keyPair.publicKey), silentLogger())
  assert.equal(await flow.opened, true)
})
after(() => lab.destroy())

function request(method: string, mutate: (r: SipRequest) => void = () => {}): SipRequest {
  const r = new SipRequest(method, 'sip:target@example.org')
  r.append('Via', `SIP/2.0/PARLEY probe.parley.invalid;branch=${newBranch()}`)
  r.append('Max-Forwards', '70')
  r.append('From', '<sip:probe@example.org>;tag=1')
  r.append('To', '<sip:target@example.org>')
  r.append('Call-ID', newBranch())
  r.append('CSeq', `1 ${method}`)
  r.append('Content-Type', 'text/plain')
  r.body = Buffer.from('hi')
  mutate(r)
  return r
}

function exchange(req: SipRequest): Promise<SipResponse> {
  return new Promise((resolve) => {
    const on = (m: SipMessage) => {
      if (m instanceof SipResponse && m.topBranch === req.topBranch) {
        flow.off('message', on)
        resolve(m)
      }
    }
    flow.on('message', on)
    flow.send(req)
  })
}

test('the peer answers malformed and unsupported requests with the right status', async () => {
  const cases: Array<[SipRequest, number]> = [
    [request('MESSAGE'), 200],
    [request('OPTIONS'), 200],
    [request('MESSAGE', (r) => (r.uri = 'sip:someone-else@example.org')), 404],
    [request('MESSAGE', (r) => (r.uri = 'tel:+15551234')), 416],
    [request('MESSAGE', (r) => r.set('Content-Type', 'text/html')), 415],
    [request('MESSAGE', (r) => r.remove('Call-ID')), 400],
    [request('MESSAGE', (r) => r.set('CSeq', '1 INFO')), 400],
    [request('MESSAGE', (r) => r.set('From', 'nonsense')), 400],
    [request('MESSAGE', (r) => (r.body = Buffer.from([0xff, 0xfe]))), 400],
    [request('MESSAGE', (r) => (r.body = Buffer.alloc(70 * 1024, 'a'))), 413],
    [request('SUBSCRIBE'), 400], // no Event header (presence is answered here: test/app/presence.test.ts)
    [request('PUBLISH'), 405]
  ]
  for (const [req, status] of cases) {
    const res = await exchange(req)
    assert.equal(res.status, status, `${req.method} ${req.uri} → ${res.status} ${res.reason}`)
    if (status === 405) assert.match(res.get('Allow') ?? '', /MESSAGE/)
    if (status === 415) assert.equal(res.get('Accept'), 'text/plain')
  }
  assert.equal(peer.inbox().length, 1, 'only the well-formed MESSAGE was stored')
  const again = request('MESSAGE')
  await exchange(again)
  await exchange(again) // a retransmission is answered, not stored twice
  assert.equal(peer.inbox().length, 2)
})

test('the control socket refuses hostile input with codes naming the problem', async () => {
  const dataDir = await lab.tempDir()
  const api = await ApiService.open(PeerSession.running(peer, { dataDir }), dataDir, silentLogger())
  const control = await startControlServer(api, dataDir, silentLogger())
  lab.onTeardown(() => control.close())
  lab.onTeardown(() => api.close())
  const ask = (payload: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const socket = createConnection(control.path)
      let buf = ''
      socket.on('data', (d) => {
        buf += d
        if (buf.includes('\n')) {
          socket.destroy()
          resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))))
        }
      })
      socket.on('error', reject)
      socket.write(payload)
    })
  const err = (r: Record<string, unknown>) => r.error as { code: string; message: string }
  assert.equal(err(await ask('not json\n')).code, 'BAD_REQUEST')
  assert.match(err(await ask('{"id":1,"method":"selfdestruct"}\n')).message, /unknown method/)
  assert.match(err(await ask('{"id":2,"method":"send","params":{"to":"sip:x@y.z","text":""}}\n')).message, /text/)
  assert.match(err(await ask('{"id":3,"method":"send","params":{"to":"sip:x@y.z","text":"a","cc":"b"}}\n')).message, /cc/)
  assert.match(err(await ask('{"id":4,"method":"send","params":{"to":"mailto:x@y.z","text":"a"}}\n')).message, /not a valid SIP address/)
  assert.equal(err(await ask('x'.repeat(1024 * 1024 + 10))).code, 'BAD_REQUEST')
  const ok = await ask('{"id":5,"method":"status"}\n')
  assert.equal(ok.ok, true)
  assert.equal((ok.result as { aor: string }).aor, 'sip:target@example.org')
})

test('a MESSAGE from a plain SIP phone over UDP is unverified, never "self", even when its From is our own AOR', async () => {
  const local = await lab.peer('sip:desk@example.org', { sip: { udp: 0 } })
  const udp = local.sip.transports.find((t) => t.name === 'UDP')!
  const phone = await TestUa.open('sip:desk@example.org', udp.local.port)
  try {
    for (const [from, text] of [['sip:desk@example.org', 'looks like a note to self'], ['sip:phone@example.org', 'from a phone']] as const) {
      const msg = phone.request('MESSAGE', 'sip:desk@example.org', { headers: [['Content-Type', 'text/plain']], body: text })
      msg.set('From', `<${from}>;tag=${newBranch()}`)
      assert.equal((await phone.send(msg)).status, 200)
      const stored = local.inbox().find((m) => m.text === text)
      assert.equal(stored?.identity, 'unverified', JSON.stringify(stored))
      assert.equal(stored?.peerKey, null)
    }
  } finally {
    phone.close()
  }
})
