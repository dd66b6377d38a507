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
