import { test } from 'node:test'
import assert from 'node:assert/strict'
import { instanceName, parseService, SIPURI_SUFFIX, txtRecord } from '../../app/overlay/lan-records.js'
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
  assert.ok(!('error' in entry))
  assert.equal(entry.aor, aor)
  assert.equal(entry.displayName, 'Alice')
  assert.equal(entry.contact, advert.contact)
  assert.ok(entry.publicKey.equals(key))
  assert.deepEqual(entry.dht, { host: '10.0.0.2', port: 49737 })
})

test('a standard advertiser\'s dotted instance label reads right too', () => {
  const entry = parseService('sip:bob@example.com (PDA)' + SIPURI_SUFFIX, { txtvers: '1', contact: 'sip:bob@bobs-host.local', key: key.toString('hex') })
  assert.ok(!('error' in entry))
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
