import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalAor } from '../../app/identity/aor.js'

test('AORs are canonicalised per RFC 3261 §19.1.4 and §10.3', () => {
  assert.equal(canonicalAor('sip:Alice@Example.ORG:5060'), 'sip:Alice@example.org')
  assert.equal(canonicalAor('SIPS:al%69ce@EXAMPLE.org:5061;transport=tcp'), 'sips:alice@example.org')
  assert.equal(canonicalAor('sip:alice@example.org:5070'), 'sip:alice@example.org:5070')
  assert.equal(canonicalAor('sip:bob%20smith@x.org'), 'sip:bob%20smith@x.org')
  assert.equal(canonicalAor('sip:alice@example.org?subject=hi'), 'sip:alice@example.org')
  assert.notEqual(canonicalAor('sip:Alice@example.org'), canonicalAor('sip:alice@example.org'))
})

test('bad AORs are refused with BAD_AOR and a reason', () => {
  for (const bad of ['', 'alice', 'mailto:a@b', 'sip:example.org', 'sip:alice:pw@x.org', 'sip:a%C3@x.org', 'sip:al ice@x.org', 'sip:' + 'a'.repeat(600) + '@x.org']) {
    assert.throws(() => canonicalAor(bad), { code: 'BAD_AOR' }, bad)
  }
})
