import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Lab } from '../helpers/overlay.js'

let lab: Lab
before(async () => {
  lab = await Lab.create(10)
})
after(() => lab.destroy())

test('two peers register and find each other', async () => {
  const alice = await lab.peer('sip:alice@example.org')
  const bob = await lab.peer('sip:bob@example.org')
  const found = await alice.lookup('sip:bob@EXAMPLE.org')
  assert.deepEqual(found.keys.map((k) => k.toString('hex')), [bob.identity.keyPair.publicKey.toString('hex')])
  const back = await bob.lookup('sip:alice@example.org')
  assert.deepEqual(back.keys.map((k) => k.toString('hex')), [alice.identity.keyPair.publicKey.toString('hex')])
})

test('a MESSAGE is delivered with 200 and lands in the recipient inbox', async () => {
  const alice = await lab.peer('sip:alice2@example.org', { displayName: 'Alice' })
  const bob = await lab.peer('sip:bob2@example.org')
  const result = await alice.sendMessage('sip:bob2@example.org', 'hello bob ✓')
  assert.equal(result.status, 200)
  assert.equal(result.identity, 'first-contact')
  const inbox = bob.inbox()
  assert.equal(inbox.length, 1)
  assert.equal(inbox[0]?.text, 'hello bob ✓')
  assert.equal(inbox[0]?.from, 'sip:alice2@example.org')
  assert.equal(inbox[0]?.fromName, 'Alice')
  assert.equal(alice.store.get(result.id)?.status, 'delivered')
})

test('404 for an AOR nobody registered', async () => {
  const alice = await lab.peer('sip:alice3@example.org')
  const result = await alice.sendMessage('sip:nobody@example.org', 'anyone?')
  assert.equal(result.status, 404)
})
