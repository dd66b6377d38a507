import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseRoute } from '../../renderer/src/desktop/routes.js'

test("the notifications' routes open their view", () => {
  assert.deepEqual(parseRoute('#/chat/sip%3Abob%40example.org'), { view: 'buddies', chat: 'sip:bob@example.org' })
  assert.deepEqual(parseRoute('#/chat/sip:bob@example.org'), { view: 'buddies', chat: 'sip:bob@example.org' })
  assert.deepEqual(parseRoute('#/call/abc%20123'), { view: 'buddies' })
  assert.deepEqual(parseRoute('#/history'), { view: 'history' })
  assert.deepEqual(parseRoute('#/voicemail'), { view: 'voicemail' })
  assert.deepEqual(parseRoute('#/settings'), { view: 'settings' })
})

test('anything else is ignored', () => {
  for (const route of ['', '#', '#/', 'history', '#/nowhere', '#/history/x', '#/chat/', '#/chat/%E0%A4%A', '#/chat/bob', '#/chat/sip%3Abob%20x', 'javascript:alert(1)', '#/HISTORY']) {
    assert.equal(parseRoute(route), null, route)
  }
})
