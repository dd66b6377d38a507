import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sameAor, toAor } from '../../renderer/src/aor-input.js'

const ME = 'sip:alice@example.org'

test('what the user types becomes an AOR: scheme added, own domain for bare users, host lower-cased', () => {
  assert.equal(toAor('sip:bob@example.org', ME), 'sip:bob@example.org')
  assert.equal(toAor('  bob@Example.ORG ', ME), 'sip:bob@example.org')
  assert.equal(toAor('1234', ME), 'sip:1234@example.org')
  assert.equal(toAor('SIP:Bob@host', ME), 'sip:Bob@host', 'the user part keeps its case (RFC 3261 §19.1.4)')
  assert.equal(toAor('   ', ME), '')
})

test('AORs compare hosts without regard to case, user parts exactly', () => {
  assert.equal(sameAor('sip:bob@example.org', 'sip:bob@EXAMPLE.org'), true)
  assert.equal(sameAor('sip:Bob@example.org', 'sip:bob@example.org'), false)
  assert.equal(sameAor('sip:bob@example.org', 'sip:carol@example.org'), false)
})
