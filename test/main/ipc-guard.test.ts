import { test } from 'node:test'
import assert from 'node:assert/strict'
import { z } from 'zod'
import { isTrustedSender, validated, type FrameLike } from '../../main/ipc-guard.js'

function frame(url: string, frameTreeNodeId: number, parent: FrameLike | null = null): FrameLike {
  return { url, frameTreeNodeId, parent }
}

const top = frame('app://parley/index.html', 7)
let current: FrameLike | null = top
const expected = { topFrame: () => current, appOrigin: 'app://parley' }

const senders: [string, FrameLike | null | undefined, boolean][] = [
  ['the main window top frame', top, true],
  ['the same frame seen through another object', frame('app://parley/index.html#/calls', 7), true],
  ['no frame (disposed or navigated away)', null, false],
  ['undefined frame', undefined, false],
  ['a subframe of the main window', frame('app://parley/embed.html', 8, top), false],
  ['a frame claiming the top id but with a parent', frame('app://parley/index.html', 7, top), false],
  ['another window top frame', frame('app://parley/index.html', 9), false],
  ['the top frame after navigating elsewhere', frame('https://evil.example/', 7), false],
  ['the top frame on a look-alike origin', frame('app://parley.evil.example/', 7), false],
  ['the top frame on file://', frame('file:///opt/parley/index.html', 7), false],
  ['the top frame on about:blank', frame('about:blank', 7), false]
]

for (const [name, sender, trusted] of senders) {
  test(`isTrustedSender: ${name} → ${trusted}`, () => {
    current = top
    assert.equal(isTrustedSender(sender, expected), trusted)
  })
}

test('isTrustedSender: nothing is trusted when there is no main window', () => {
  current = null
  assert.equal(isTrustedSender(top, expected), false)
  current = top
})

const schema = z.object({ aor: z.string().startsWith('sip:'), video: z.boolean().optional() })
const trustTop = (f: FrameLike | null) => f === top
const calls: unknown[] = []
const call = validated('parley:call', schema, (payload) => {
  calls.push(payload)
  return { ok: true as const }
}, trustTop)

test('validated: a good payload from the trusted frame reaches the handler, parsed', () => {
  calls.length = 0
  assert.deepEqual(call({ senderFrame: top }, { aor: 'sip:bob@example.org', extra: 1 }), { ok: true })
  // zod objects drop unknown keys: the handler never sees what it did not declare.
  assert.deepEqual(calls, [{ aor: 'sip:bob@example.org' }])
})

test('validated: an untrusted sender is refused before the payload is looked at', () => {
  calls.length = 0
  const sub = frame('app://parley/x', 8, top)
  assert.throws(() => call({ senderFrame: sub }, { aor: 'sip:bob@example.org' }), { code: 'FORBIDDEN' })
  assert.throws(() => call({ senderFrame: null }, 'garbage'), { code: 'FORBIDDEN' })
  assert.deepEqual(calls, [])
})

const bad: [string, unknown[], RegExp][] = [
  ['missing payload', [], /expected object/i],
  ['wrong type', [{ aor: 42 }], /^bad parley:call request: aor: /],
  ['failed refinement', [{ aor: 'http://x' }], /aor: .*sip:/],
  ['nested wrong type', [{ aor: 'sip:a@b', video: 'yes' }], /video: /],
  ['a string instead of an object', ['sip:bob@example.org'], /expected object/i],
  ['extra arguments', [{ aor: 'sip:a@b' }, 'more'], /expects one payload, got 2 arguments/]
]

for (const [name, args, message] of bad) {
  test(`validated: ${name} → a BAD_REQUEST object, handler not called`, () => {
    calls.length = 0
    const result = call({ senderFrame: top }, ...args)
    assert.equal(calls.length, 0)
    assert.ok(result.ok === false)
    assert.equal(result.error.code, 'BAD_REQUEST')
    assert.equal(result.error.channel, 'parley:call')
    assert.match(result.error.message, message)
    // Structured-clone safe: it crosses IPC as is.
    assert.deepEqual(structuredClone(result), result)
  })
}

test('validated: issues name the failing field', () => {
  const result = call({ senderFrame: top }, { aor: 1, video: 'no' })
  assert.ok(result.ok === false)
  assert.deepEqual(
    result.error.issues.map((i) => i.path),
    ['aor', 'video']
  )
})

test('validated: a channel without payload accepts exactly no payload', () => {
  const status = validated('parley:status', z.undefined(), () => 'running', trustTop)
  assert.equal(status({ senderFrame: top }), 'running')
  assert.equal((status({ senderFrame: top }, { x: 1 }) as { ok: boolean }).ok, false)
})

test('validated: the event is handed to the handler', () => {
  const event = { senderFrame: top, sender: 'wc' }
  const echo = validated('parley:echo', z.number(), (n, e: typeof event) => [n, e.sender], (f) => f === top)
  assert.deepEqual(echo(event, 3), [3, 'wc'])
})
