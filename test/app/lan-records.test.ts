import { test } from 'node:test'
import assert from 'node:assert/strict'
import { instanceName, lanContact, parseService, phoneTarget, SIPURI_SUFFIX, txtRecord } from '../../app/overlay/lan-records.js'
import { canonicalAor } from '../../app/identity/aor.js'

const key = Buffer.alloc(32, 0xab)
const aor = canonicalAor('sip:alice@example.org')
const advert = { aor, displayName: 'Alice', contact: 'sip:alice@10.0.0.2:5060', publicKey: key, dht: '10.0.0.2:49737' }

test('an advertisement reads back as the entry it came from (instance name with dots, TXT per the draft)', () => {
  const name = instanceName(aor, key)
  assert.doesNotMatch(name, /\./, 'no dot inside the label: the mDNS library would split it into labels')
  assert.match(name, /^sip:alice@example\u2024org \(abababab\)$/)
  const txt = txtRecord(advert)
  assert.deepEqual(Object.keys(txt), ['txtvers', 'name', 'contact', 'key', 'dht'])
  const entry = parseService(name + SIPURI_SUFFIX, txt)
  assert.ok(!('error' in entry) && entry.publicKey !== null)
  assert.equal(entry.aor, aor)
  assert.equal(entry.displayName, 'Alice')
  assert.equal(entry.contact, advert.contact)
  assert.ok(entry.publicKey.equals(key))
  assert.deepEqual(entry.dht, { host: '10.0.0.2', port: 49737 })
})

test('a standard advertiser\'s dotted instance label reads right too', () => {
  const entry = parseService('sip:bob@example.com (PDA)' + SIPURI_SUFFIX, { txtvers: '1', contact: 'sip:bob@bobs-host.local', key: key.toString('hex') })
  assert.ok(!('error' in entry) && entry.publicKey !== null)
  assert.equal(entry.aor, 'sip:bob@example.com')
  assert.equal(entry.dht, null)
})

test('hostile or foreign instances are refused with a reason, never thrown', () => {
  const good = txtRecord(advert)
  const cases: Array<[string, unknown, RegExp]> = [
    ['sip:alice@example.org._http._tcp.local', good, /not a .*_sipuri/],
    ['mailto:alice@example.org' + SIPURI_SUFFIX, good, /not a SIP URI/],
    ['' + SIPURI_SUFFIX, good, /not a SIP URI/],
    ['sip:a@b.c' + SIPURI_SUFFIX, undefined, /TXT/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, txtvers: '2' }, /txtvers/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, key: 'zz' }, /key/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, contact: 'http://x' }, /contact/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, contact: 'sip:' + 'a'.repeat(600) }, /contact/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, name: 'n'.repeat(500) }, /name/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, dht: 'nohost' }, /bad dht/],
    ['sip:a@b.c' + SIPURI_SUFFIX, { ...good, dht: '1.2.3.4:99999' }, /bad dht/],
    ['sip:a@b.c' + SIPURI_SUFFIX, 'txtvers=1', /TXT/]
  ]
  for (const [fqdn, txt, reason] of cases) {
    const r = parseService(fqdn, txt)
    assert.ok('error' in r, `${fqdn} ${JSON.stringify(txt)?.slice(0, 60)} accepted`)
    assert.match(r.error, reason)
  }
})

test("a plain SIP UA's instance (the draft's TXT, no Parley key) reads as a phone", () => {
  const entry = parseService('sip:carol@example.com (desk)' + SIPURI_SUFFIX, { txtvers: '1', name: 'Carol', contact: 'sip:carol@carols-phone.local' })
  assert.deepEqual(entry, { aor: 'sip:carol@example.com', displayName: 'Carol', contact: 'sip:carol@carols-phone.local', publicKey: null })
})

test("a phone's contact must point back at the host that advertised it", () => {
  const from = { host: 'carols-phone.local', port: 5062, addresses: ['10.0.0.7'] }
  assert.deepEqual(phoneTarget('sip:carol@carols-phone.local', from), { transport: 'UDP', host: '10.0.0.7', port: 5062 })
  assert.deepEqual(phoneTarget('sip:carol@CAROLS-PHONE.local.:5070;transport=tcp', from), { transport: 'TCP', host: '10.0.0.7', port: 5070 })
  assert.deepEqual(phoneTarget('sip:carol@10.0.0.7', from), { transport: 'UDP', host: '10.0.0.7', port: 5060 })
  assert.deepEqual(phoneTarget('sip:carol@10.0.0.7:5071', from), { transport: 'UDP', host: '10.0.0.7', port: 5071 })
  const refused: Array<[string, typeof from, RegExp]> = [
    ['sip:carol@10.0.0.8', from, /not the advertising host/],
    ['sip:carol@victim.example.org', from, /not the advertising host/],
    ['sip:carol@carols-phone.local', { ...from, addresses: [] }, /not the advertising host/],
    ['sip:carol@carols-phone.local', { ...from, addresses: ['fe80::1'] }, /not the advertising host/],
    ['sips:carol@10.0.0.7', from, /not a sip: URI/],
    ['sip:carol@10.0.0.7;transport=sctp', from, /transport SCTP/],
    ['carol', from, /not a sip: URI/]
  ]
  for (const [contact, host, reason] of refused) {
    const r = phoneTarget(contact, host)
    assert.ok('error' in r, `${contact} accepted`)
    assert.match(r.error, reason)
  }
})

test('our advertised contact is the UDP transport only when it listens on the LAN; else the overlay host', () => {
  const overlay = 'abc.parley.invalid'
  assert.deepEqual(lanContact(aor, '10.0.0.2', { host: '0.0.0.0', port: 5060 }, overlay), { contact: 'sip:alice@10.0.0.2:5060', port: 5060 })
  assert.deepEqual(lanContact(aor, '10.0.0.2', { host: '10.0.0.2', port: 5062 }, overlay), { contact: 'sip:alice@10.0.0.2:5062', port: 5062 })
  assert.deepEqual(lanContact(aor, '10.0.0.2', { host: '127.0.0.1', port: 5060 }, overlay), { contact: 'sip:alice@abc.parley.invalid', port: null })
  assert.deepEqual(lanContact(aor, '10.0.0.2', null, overlay), { contact: 'sip:alice@abc.parley.invalid', port: null })
})
