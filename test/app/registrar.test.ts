import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Lab } from '../helpers/overlay.js'
import { TestUa } from '../helpers/sip-ua.js'
import { parseNameAddr, param } from '../../app/sip/header-values.js'
import type { Peer } from '../../app/peer.js'
import { AccountStore } from '../../app/registrar/account-store.js'

let lab: Lab
let peer: Peer
let ua: TestUa

before(async () => {
  lab = await Lab.create(5)
  peer = await lab.peer('sip:reg-owner@parley.test', { sip: { udp: 0, auth: 'off', domains: ['example.com'], dns: false, expires: { min: 60, max: 7200 } } })
  ua = await TestUa.open('sip:multi@example.com', peer.status().sip.transports[0]?.port ?? 0)
})
after(async () => {
  ua.close()
  await lab.destroy()
})

function register(contacts: string[], expires: string | null, cseq: number, callId = 'reg-call') {
  const req = ua.request('REGISTER', 'sip:example.com', { to: '<sip:multi@example.com>', callId, cseq })
  req.remove('Contact')
  for (const c of contacts) req.append('Contact', c)
  if (expires !== null) req.append('Expires', expires)
  return ua.send(req)
}

const expiresOf = (contact: string) => Number(param(parseNameAddr(contact)?.params ?? [], 'expires'))

test('several bindings per AOR, Expires from header or contact, clamped to the maximum', async () => {
  const res = await register(['<sip:a@192.0.2.1>', '<sip:b@192.0.2.2>;expires=120'], '99999', 1)
  assert.equal(res.status, 200)
  const contacts = res.getAll('Contact')
  assert.equal(contacts.length, 2)
  const byUri = new Map(contacts.map((c) => [parseNameAddr(c)?.uri, expiresOf(c)]))
  assert.ok((byUri.get('sip:a@192.0.2.1') ?? 0) <= 7200 && (byUri.get('sip:a@192.0.2.1') ?? 0) > 7100)
  assert.ok((byUri.get('sip:b@192.0.2.2') ?? 0) <= 120)
  assert.ok(res.get('Date'))
})

test('423 with Min-Expires when too short; 500 for an out-of-order CSeq; 400 for a bad wildcard', async () => {
  const brief = await register(['<sip:c@192.0.2.3>'], '30', 2)
  assert.equal(brief.status, 423)
  assert.equal(brief.get('Min-Expires'), '60')
  const stale = await register(['<sip:a@192.0.2.1>'], '600', 1)
  assert.equal(stale.status, 500)
  const badStar = await register(['*'], '10', 3)
  assert.equal(badStar.status, 400)
})

test('a contact with expires=0 removes one binding; * with Expires: 0 removes all', async () => {
  const one = await register(['<sip:b@192.0.2.2>;expires=0'], null, 4)
  assert.deepEqual(one.getAll('Contact').map((c) => parseNameAddr(c)?.uri), ['sip:a@192.0.2.1'])
  const all = await register(['*'], '0', 5)
  assert.equal(all.status, 200)
  assert.equal(all.getAll('Contact').length, 0)
  assert.equal(peer.status().sip.boundAors, 0)
})

test('a REGISTER for a domain this peer does not serve is proxied, not bound', async () => {
  const req = ua.request('REGISTER', 'sip:elsewhere.example.net', { to: '<sip:multi@elsewhere.example.net>', callId: 'other', cseq: 1 })
  const res = await ua.send(req)
  assert.equal(res.status, 404)
  assert.equal(peer.status().sip.boundAors, 0)
})

test('SHA-256 digest (RFC 8760) when the peer offers it first; MD5 when it offers only MD5', async () => {
  for (const [digest, algorithm] of [['sha256-first', 'SHA-256'], ['md5', 'MD5']] as const) {
    const dataDir = await lab.tempDir()
    await (await AccountStore.open(dataDir)).add({ aor: 'sip:strong@example.net', password: 'correct horse' })
    const p = await lab.peer(`sip:${digest}@parley.test`, { dataDir, sip: { udp: 0, dns: false, digest } })
    const phone = await TestUa.open('sip:strong@example.net', p.status().sip.transports[0]?.port ?? 0)
    try {
      const first = await phone.register()
      assert.equal(first.status, 401)
      const challenges = first.getAll('WWW-Authenticate').join(' | ')
      assert.match(first.get('WWW-Authenticate') ?? '', new RegExp(`algorithm=${algorithm}`))
      if (digest === 'md5') assert.doesNotMatch(challenges, /SHA-256/)
      assert.equal((await phone.register({ password: 'correct horse' })).status, 200)
    } finally {
      phone.close()
    }
  }
})
