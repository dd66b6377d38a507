import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Lab } from '../helpers/overlay.js'
import { TestUa } from '../helpers/sip-ua.js'
import { AccountStore } from '../../app/registrar/account-store.js'
import { parseNameAddr } from '../../app/sip/header-values.js'
import type { Peer } from '../../app/peer.js'

let lab: Lab
let peerA: Peer
let peerB: Peer
const uas: TestUa[] = []
const port = (p: Peer) => p.status().sip.transports.find((t) => t.transport === 'UDP')?.port ?? 0

async function ua(aor: string, peer: Peer) {
  const u = await TestUa.open(aor, port(peer))
  uas.push(u)
  return u
}

before(async () => {
  lab = await Lab.create(8)
  const dirA = await lab.tempDir()
  const dirB = await lab.tempDir()
  for (const [dir, aor] of [[dirA, 'sip:phone-a@example.org'], [dirB, 'sip:phone-b@example.org']] as const) {
    await (await AccountStore.open(dir)).add({ aor, password: 'secret-' + aor.slice(4, 11) })
  }
  peerA = await lab.peer('sip:owner-a@parley.test', { dataDir: dirA, sip: { udp: 0, dns: false } })
  peerB = await lab.peer('sip:owner-b@parley.test', { dataDir: dirB, sip: { udp: 0, dns: false } })
})
after(async () => {
  for (const u of uas) u.close()
  await lab.destroy()
})

test('a phone registers with digest auth (401, then 200) and is announced on the overlay', async () => {
  const phone = await ua('sip:phone-b@example.org', peerB)
  const wrong = await phone.register({ password: 'nope' })
  assert.equal(wrong.status, 401)
  const ok = await phone.register({ password: 'secret-phone-b' })
  assert.equal(ok.status, 200)
  assert.equal(parseNameAddr(ok.getAll('Contact')[0] ?? '')?.uri, phone.contact)
  await peerB.overlaySettled()
  const { keys } = await peerA.lookup('sip:phone-b@example.org')
  assert.deepEqual(keys.map((k) => k.toString('hex')), [peerB.identity.keyPair.publicKey.toString('hex')])
})

test('MESSAGE and a full INVITE/180/200/ACK/BYE call cross the overlay between phones at two peers', async () => {
  const alice = await ua('sip:phone-a@example.org', peerA)
  const bob = await ua('sip:phone-b@example.org', peerB)
  assert.equal((await alice.register({ password: 'secret-phone-a' })).status, 200)
  assert.equal((await bob.register({ password: 'secret-phone-b' })).status, 200)

  const msg = alice.request('MESSAGE', 'sip:phone-b@example.org', { callId: 'm1@test', headers: [['Content-Type', 'text/plain']], body: 'hi bob' })
  const pending = alice.send(msg)
  const atBob = await bob.incoming('MESSAGE')
  assert.equal(atBob.body.toString(), 'hi bob')
  await bob.reply(atBob, 200)
  assert.equal((await pending).status, 200)

  const invite = alice.request('INVITE', 'sip:phone-b@example.org', { callId: 'call1@test', headers: [['Content-Type', 'application/sdp']], body: 'v=0\r\n' })
  const ringing = alice.send(invite, 180)
  const inv = await bob.incoming('INVITE')
  assert.equal(inv.getAll('Record-Route').length, 4, 'each peer record-routes both of its sides (RFC 5658)')
  await bob.reply(inv, 180)
  assert.equal((await ringing).status, 180)
  const answered = alice.send(invite)
  const ok = await bob.reply(inv, 200, { body: 'v=0\r\n' })
  const final = await answered
  assert.equal(final.status, 200)
  assert.equal(ok.getAll('Record-Route').length, 4)

  // In-dialog requests follow the route set, reversed, to Bob's contact (§12.2.1.1).
  const routes = final.getAll('Record-Route').reverse()
  const toTag = final.get('To') ?? ''
  const target = parseNameAddr(final.get('Contact') ?? '')?.uri ?? ''
  const ack = alice.request('ACK', target, { callId: 'call1@test', cseq: 1, to: toTag, headers: routes.map((r) => ['Route', r] as [string, string]) })
  await alice.endpoint.send(ack.serialize(), port(peerA))
  assert.equal((await bob.incoming('ACK')).callId, 'call1@test')
  const bye = alice.request('BYE', target, { callId: 'call1@test', cseq: 2, to: toTag, headers: routes.map((r) => ['Route', r] as [string, string]) })
  const byeDone = alice.send(bye)
  const atBobBye = await bob.incoming('BYE')
  await bob.reply(atBobBye, 200)
  assert.equal((await byeDone).status, 200)
})

test('unregistering withdraws the phone from the overlay; calls then get 404', async () => {
  const carol = await ua('sip:phone-b@example.org', peerB)
  assert.equal((await carol.register({ password: 'secret-phone-b', expires: 0 })).status, 200)
  // Every binding of phone-b is gone only if the other test UAs unregistered too.
  for (const u of uas) if (u.aor === 'sip:phone-b@example.org' && u !== carol) await u.register({ password: 'secret-phone-b', expires: 0 })
  await peerB.overlaySettled()
  assert.deepEqual((await peerA.lookup('sip:phone-b@example.org')).keys, [])
  const alice = await ua('sip:phone-a@example.org', peerA)
  const res = await alice.send(alice.request('OPTIONS', 'sip:phone-b@example.org'))
  assert.equal(res.status, 404)
})

test('a WebSocket client (RFC 7118) registers and receives a MESSAGE on its flow, despite an .invalid contact', async () => {
  const { WebSocket } = await import('ws')
  const { SipRequest, SipResponse, createResponse } = await import('../../app/sip/message.js')
  const { parseSipMessage } = await import('../../app/sip/parser.js')
  const { digestResponse, ha1 } = await import('../../app/sip/digest-auth.js')
  const dataDir = await lab.tempDir()
  await (await AccountStore.open(dataDir)).add({ aor: 'sip:web@example.org', password: 'ws-secret' })
  const peerW = await lab.peer('sip:owner-w@parley.test', { dataDir, sip: { ws: 0, dns: false } })
  const wsPort = peerW.status().sip.transports.find((t) => t.transport === 'WS')?.port
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort}`, 'sip')
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const inbox: Array<InstanceType<typeof SipRequest> | InstanceType<typeof SipResponse>> = []
  const waiters: Array<() => void> = []
  ws.on('message', (data: Buffer) => {
    inbox.push(parseSipMessage(Buffer.from(data)) as InstanceType<typeof SipRequest>)
    for (const w of waiters.splice(0)) w()
  })
  const next = async <T>(match: (m: unknown) => m is T): Promise<T> => {
    for (;;) {
      const at = inbox.findIndex((m) => match(m))
      if (at !== -1) {
        const [found] = inbox.splice(at, 1)
        if (match(found)) return found
      }
      await new Promise<void>((r) => waiters.push(r))
    }
  }
  const register = (cseq: number, auth?: string) => {
    const r = new SipRequest('REGISTER', 'sip:example.org')
    r.append('Via', `SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws${cseq}`)
    r.append('Max-Forwards', '70')
    r.append('From', '<sip:web@example.org>;tag=w1')
    r.append('To', '<sip:web@example.org>')
    r.append('Call-ID', 'ws-reg')
    r.append('CSeq', `${cseq} REGISTER`)
    r.append('Contact', '<sip:x7k2@df7jal23ls0d.invalid;transport=ws>')
    if (auth) r.append('Authorization', auth)
    ws.send(r.serialize().toString())
  }
  const isResponse = (m: unknown): m is InstanceType<typeof SipResponse> => m instanceof SipResponse
  register(1)
  const challenge = await next(isResponse)
  assert.equal(challenge.status, 401)
  const nonce = /nonce="([^"]+)"/.exec(challenge.get('WWW-Authenticate') ?? '')?.[1] ?? ''
  const response = digestResponse({ algorithm: 'MD5', ha1: ha1('MD5', 'web', 'example.org', 'ws-secret'), method: 'REGISTER', uri: 'sip:example.org', nonce })
  register(2, `Digest username="web", realm="example.org", nonce="${nonce}", uri="sip:example.org", response="${response}", algorithm=MD5`)
  assert.equal((await next(isResponse)).status, 200)
  await peerW.overlaySettled()

  const sender = await ua('sip:phone-a@example.org', peerA)
  const pending = sender.send(sender.request('MESSAGE', 'sip:web@example.org', { headers: [['Content-Type', 'text/plain']], body: 'over the web' }))
  const msg = await next((m): m is InstanceType<typeof SipRequest> => m instanceof SipRequest && m.method === 'MESSAGE')
  assert.equal(msg.body.toString(), 'over the web')
  ws.send(createResponse(msg, 200).serialize().toString())
  assert.equal((await pending).status, 200)
  ws.close()
})

test('CANCEL of a ringing call across the overlay: 200 to the CANCEL, 487 to the INVITE', async () => {
  const alice = await ua('sip:phone-a@example.org', peerA)
  const bob = await ua('sip:phone-b@example.org', peerB)
  assert.equal((await bob.register({ password: 'secret-phone-b' })).status, 200)
  await peerB.overlaySettled()
  const invite = alice.request('INVITE', 'sip:phone-b@example.org', { callId: 'cancel1@test', headers: [['Content-Type', 'application/sdp']], body: 'v=0\r\n' })
  const ringing = alice.send(invite, 180)
  const inv = await bob.incoming('INVITE')
  await bob.reply(inv, 180)
  await ringing
  const final = alice.send(invite)
  const cancel = alice.request('CANCEL', invite.uri, { callId: 'cancel1@test', cseq: invite.cseq?.seq })
  cancel.set('Via', invite.getAll('Via')[0] ?? '')
  assert.equal((await alice.send(cancel)).status, 200)
  const atBob = await bob.incoming('CANCEL')
  await bob.reply(atBob, 200)
  await bob.reply(inv, 487)
  assert.equal((await final).status, 487)
})

test('a request that loops back to a peer is refused with 482', async () => {
  const { loopHash } = await import('../../app/sip/proxy/loop-hash.js')
  const alice = await ua('sip:phone-a@example.org', peerA)
  const req = alice.request('OPTIONS', 'sip:someone@example.net')
  // What this request looks like when it comes back after peer A forwarded it once.
  req.append('Via', `SIP/2.0/UDP 127.0.0.1:${port(peerA)};branch=z9hG4bK${loopHash(req)}.abcd`)
  assert.equal((await alice.send(req)).status, 482)
})

test("the peer's own user messages a phone registered at the same peer (through its own proxy)", async () => {
  const bob = await ua('sip:phone-b@example.org', peerB)
  assert.equal((await bob.register({ password: 'secret-phone-b' })).status, 200)
  await peerB.overlaySettled()
  for (const text of ['first note', 'second note']) {
    const sending = peerB.sendMessage('sip:phone-b@example.org', text)
    const msg = await bob.incoming('MESSAGE')
    assert.equal(msg.body.toString(), text)
    await bob.reply(msg, 200)
    const result = await sending
    assert.equal(result.status, 200)
    assert.equal(result.publicKey, peerB.identity.keyPair.publicKey.toString('hex'))
  }
})
