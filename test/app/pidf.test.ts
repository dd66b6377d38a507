import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodePidf, parsePidf, MAX_NOTE_CHARS, MAX_PIDF_BYTES, type PresenceInfo } from '../../app/presence/pidf.js'

const parsed = (xml: string | Buffer) => {
  const r = parsePidf(xml)
  assert.ok(r.ok, `expected a parse, got: ${r.ok ? '' : r.reason}`)
  return r.presence
}

test('every status and note survives a round trip', () => {
  const cases: PresenceInfo[] = [
    { status: 'available', note: null },
    { status: 'away', note: 'back at 3 <pm> & "soon"' },
    { status: 'busy', note: "in a meeting — don't call ✓" },
    { status: 'offline', note: null }
  ]
  for (const info of cases) {
    const xml = encodePidf('sip:bob@example.org', info, 'sip:bob@x.parley.invalid')
    assert.deepEqual(parsed(xml), info, xml)
  }
})

test('the encoding is PIDF with RPID where RFC 3863 and RFC 4480 put it', () => {
  const xml = encodePidf('sip:a&b@example.org', { status: 'away', note: 'x' })
  assert.match(xml, /<presence xmlns="urn:ietf:params:xml:ns:pidf"[^>]* entity="sip:a&amp;b@example.org">/)
  assert.match(xml, /<tuple id="[^"]+">\s*<status><basic>open<\/basic><\/status>/)
  assert.match(xml, /<dm:person id="[^"]+">\s*<rpid:activities><rpid:away\/><\/rpid:activities>/)
  assert.ok(xml.indexOf('<note>') < xml.indexOf('<dm:person'), 'notes come before extension elements')
  assert.match(encodePidf('sip:a@b', { status: 'offline', note: null }), /<basic>closed<\/basic>/)
  assert.doesNotMatch(encodePidf('sip:a@b', { status: 'available', note: null }), /activities/)
})

test('notes: control characters dropped, length bounded', () => {
  const xml = encodePidf('sip:a@b', { status: 'available', note: 'a\u0000b\u0007c' + 'x'.repeat(1000) })
  const p = parsed(xml)
  assert.equal(p.note?.startsWith('a b c'), true)
  assert.equal([...(p.note ?? '')].length, MAX_NOTE_CHARS)
})

test('PIDF from real phones', () => {
  // baresip's presence module: person first, activities with no activity when online.
  const baresip = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>\r
<presence xmlns="urn:ietf:params:xml:ns:pidf"\r
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"\r
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"\r
    entity="sip:bare@example.org">\r
  <dm:person id="p4159">\r
    <rpid:activities>\r
      <rpid:busy/>\r
    </rpid:activities>\r
  </dm:person>\r
  <tuple id="t4109">\r
    <status>\r
      <basic>open</basic>\r
    </status>\r
    <contact>sip:bare@127.0.0.1:5060</contact>\r
  </tuple>\r
</presence>\r
`
  assert.deepEqual(parsed(baresip), { status: 'busy', note: null })
  assert.deepEqual(parsed(baresip.replace('<rpid:busy/>', '')), { status: 'available', note: null })
  assert.deepEqual(parsed(baresip.replace('<rpid:busy/>', '<rpid:away/>')), { status: 'away', note: null })

  // Linphone: on-the-phone activity, note with xml:lang, timestamp.
  const linphone = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:lin@example.org">
  <tuple id="qmdpe9"><status><basic>open</basic></status><contact priority="0.8">sip:lin@192.168.1.10</contact><timestamp>2024-01-01T10:00:00Z</timestamp></tuple>
  <dm:person id="s6o9zc"><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note xml:lang="en">In a call</dm:note></dm:person>
</presence>`
  assert.deepEqual(parsed(linphone), { status: 'busy', note: 'In a call' })

  // X-Lite/Bria style: older RPID namespaces, activities inside a person's status, presence-level note.
  const bria = `<?xml version='1.0' encoding='UTF-8'?>
<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' xmlns:c='urn:ietf:params:xml:ns:pidf:cipid' entity='sip:bria@example.org'>
<tuple id='t1'><status><basic>open</basic></status></tuple>
<note>Lunch</note>
<dm:person id='p1'><rpid:activities><rpid:lunch/></rpid:activities></dm:person>
</presence>`
  assert.deepEqual(parsed(bria), { status: 'away', note: 'Lunch' })

  // pjsip: "unknown" activity says nothing; tuple note.
  const pjsip = `<?xml version="1.0" encoding="UTF-8"?>
<presence entity="sip:pj@example.org" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">
 <tuple id="1"><status><basic>open</basic></status><note>Online</note></tuple>
 <dm:person id="2"><rpid:activities><rpid:unknown/></rpid:activities></dm:person>
</presence>`
  assert.deepEqual(parsed(pjsip), { status: 'available', note: 'Online' })
  assert.equal(parsed(pjsip.replace('Online', 'caf&#233; &#x2713;')).note, 'café ✓', 'character references')

  // Several devices: any open tuple makes the presentity reachable (RFC 3863 §4.1.4); all closed is offline.
  const two = (a: string, b: string) =>
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"><tuple id="a"><status><basic>${a}</basic></status></tuple><tuple id="b"><status><basic>${b}</basic></status></tuple></presence>`
  assert.equal(parsed(two('closed', 'open')).status, 'available')
  assert.equal(parsed(two('closed', 'closed')).status, 'offline')
  assert.equal(parsed(Buffer.from(two('open', 'open'))).status, 'available')
})

test('hostile and broken bodies are refused with a reason, never thrown', () => {
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><presence xmlns="urn:ietf:params:xml:ns:pidf"><note>&lol3;</note><tuple id="a"><status><basic>open</basic></status></tuple></presence>`
  const xxe = `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence xmlns="urn:ietf:params:xml:ns:pidf"><note>&x;</note><tuple id="a"><status><basic>open</basic></status></tuple></presence>`
  const deep = `<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"><status><basic>open</basic></status></tuple>${'<a>'.repeat(500)}${'</a>'.repeat(500)}</presence>`
  const huge = `<presence xmlns="urn:ietf:params:xml:ns:pidf"><note>${'x'.repeat(MAX_PIDF_BYTES)}</note><tuple id="a"><status><basic>open</basic></status></tuple></presence>`
  const cases: Array<[string, string | Buffer]> = [
    ['entity expansion', laughs],
    ['external entity', xxe],
    ['deep nesting', deep],
    ['too large', huge],
    ['empty', ''],
    ['garbage', 'hello, not xml'],
    ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x3c])],
    ['unclosed', '<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"><status><basic>open</basic></status></tuple>'],
    ['wrong root', '<html><body>open</body></html>'],
    ['wrong namespace', '<presence xmlns="urn:example:other"><tuple id="a"><status><basic>open</basic></status></tuple></presence>'],
    ['bad basic', '<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"><status><basic>maybe</basic></status></tuple></presence>'],
    ['no status', '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>'],
    ['prototype keys', '<presence xmlns="urn:ietf:params:xml:ns:pidf"><__proto__><polluted>1</polluted></__proto__><constructor/></presence>']
  ]
  for (const [name, body] of cases) {
    const r = parsePidf(body)
    assert.equal(r.ok, false, name)
    if (!r.ok) assert.ok(r.reason.length > 0, name)
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined)
})
