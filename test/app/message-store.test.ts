import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageStore, type StoredMessage } from '../../app/im/message-store.js'
import { silentLogger } from '../../app/log.js'

const message = (id: string, text: string): StoredMessage => ({
  kind: 'message', id, direction: 'in', from: 'sip:a@b.c', fromName: null, to: 'sip:me@b.c', contentType: 'text/plain',
  text, at: new Date().toISOString(), callId: id, cseq: 1, peerKey: null, identity: 'unverified', status: 'received', sipStatus: null
})

test('a torn or foreign line is skipped and nothing stored before it is lost', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-store-'))
  const path = join(dir, 'messages.jsonl')
  await writeFile(path, JSON.stringify(message('1', 'first')) + '\n{"kind":"message","id":\n' + 'garbage\n' + JSON.stringify(message('2', 'second')).slice(0, 30))
  const store = await MessageStore.open(dir, silentLogger())
  assert.deepEqual(store.list().map((m) => m.text), ['first'])
  assert.equal(store.skippedLines, 3)
  await store.add(message('3', 'third'))
  await store.close()
  const reopened = await MessageStore.open(dir, silentLogger())
  assert.deepEqual(reopened.list().map((m) => m.text), ['first', 'third'])
  assert.ok(reopened.seen({ from: 'sip:a@b.c', callId: '3', cseq: 1 }))
  await reopened.close()
  assert.match(await readFile(path, 'utf8'), /garbage/, 'unreadable lines are kept for a human, not rewritten')
})
