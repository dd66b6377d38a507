import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Lab } from '../helpers/overlay.js'
import { ApiService } from '../../app/api/api-service.js'
import { PeerSession } from '../../app/peer-session.js'
import { silentLogger } from '../../app/log.js'
import type { Buddy, CallRecord } from '../../app/api/contract.js'
import type { Peer } from '../../app/peer.js'

let lab: Lab

before(async () => {
  lab = await Lab.create(8)
})
after(() => lab.destroy())

async function service(peer: Peer, dataDir: string): Promise<ApiService> {
  const api = await ApiService.open(PeerSession.running(peer, { dataDir }), dataDir, silentLogger())
  lab.onTeardown(() => api.close())
  return api
}

function nextEvent<T>(api: ApiService, name: string, match: (d: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const on = (n: string, data: unknown) => {
      if (n === name && match(data as T)) {
        api.off('event', on)
        resolve(data as T)
      }
    }
    api.on('event', on)
  })
}

test('a buddy whose key changes is flagged until the user accepts the new key', async () => {
  const aliceDir = await lab.tempDir()
  const alice = await lab.peer('sip:alice@example.org', { dataDir: aliceDir })
  const api = await service(alice, aliceDir)
  const bob1 = await lab.peer('sip:bob@example.org')
  const added = (await api.handle('buddies.add', { aor: 'sip:bob@example.org' })) as Buddy
  assert.equal(added.identity.state, 'pinned', 'pinned on first contact')
  assert.equal(added.identity.publicKey, bob1.identity.keyPair.publicKey.toString('hex'))

  // Bob's AOR is now announced only by another key (a new device, or an impostor).
  await bob1.close()
  const bob2 = await lab.peer('sip:bob@example.org')
  const warned = nextEvent<Buddy>(api, 'buddy', (b) => b.identity.state === 'changed')
  await assert.rejects(api.handle('messages.send', { to: 'sip:bob@example.org', text: 'hi' }), { code: 'IDENTITY_CHANGED' })
  const flagged = await warned
  assert.equal(flagged.identity.offeredKey, bob2.identity.keyPair.publicKey.toString('hex'))
  assert.equal(flagged.identity.offeredFingerprint, bob2.identity.fingerprint)

  const accepted = (await api.handle('buddies.acceptKey', { aor: 'sip:bob@example.org', publicKey: flagged.identity.offeredKey })) as Buddy
  assert.equal(accepted.identity.state, 'pinned')
  assert.equal(accepted.identity.publicKey, bob2.identity.keyPair.publicKey.toString('hex'))
  const sent = (await api.handle('messages.send', { to: 'sip:bob@example.org', text: 'hi again' })) as { state: string }
  assert.equal(sent.state, 'delivered')
})

test('unread counts follow incoming messages and markRead; conversations are per buddy', async () => {
  const carolDir = await lab.tempDir()
  const carol = await lab.peer('sip:carol@example.org', { dataDir: carolDir })
  const api = await service(carol, carolDir)
  const dave = await lab.peer('sip:dave@example.org')
  await api.handle('buddies.add', { aor: 'sip:dave@example.org' })
  const unread = nextEvent<Buddy>(api, 'buddy', (b) => b.unread === 2)
  await dave.sendMessage('sip:carol@example.org', 'one')
  await dave.sendMessage('sip:carol@example.org', 'two')
  assert.equal((await unread).aor, 'sip:dave@example.org')
  const convo = (await api.handle('messages.list', { peer: 'sip:dave@example.org' })) as Array<{ text: string; read: boolean; direction: string }>
  assert.deepEqual(convo.map((m) => [m.text, m.read, m.direction]), [['one', false, 'in'], ['two', false, 'in']])
  assert.deepEqual(await api.handle('messages.markRead', { peer: 'sip:dave@example.org' }), { marked: 2 })
  assert.equal(((await api.handle('buddies.list', {})) as Buddy[])[0]?.unread, 0)
  // Read marks survive a restart of the service (buddies.json).
  const again = await service(carol, carolDir)
  assert.equal(((await again.handle('buddies.list', {})) as Buddy[])[0]?.unread, 0)

  // A message to nobody shows as failed in its conversation rather than vanishing.
  const failed = (await api.handle('messages.send', { to: 'sip:nobody@example.org', text: 'anyone?' })) as { state: string; sipStatus: number }
  assert.deepEqual([failed.state, failed.sipStatus], ['failed', 404])
})

test('call history and settings persist, and bad records are refused naming the field', async () => {
  const dir = await lab.tempDir()
  const erin = await lab.peer('sip:erin@example.org', { dataDir: dir })
  const api = await service(erin, dir)
  const call: CallRecord = {
    id: 'c1',
    direction: 'incoming',
    peer: 'sip:Frank@Example.org',
    peerName: 'Frank',
    startedAt: '2026-11-22T10:00:00.000Z',
    answeredAt: null,
    endedAt: '2026-11-22T10:00:20.000Z',
    outcome: 'missed',
    sipStatus: 487,
    durationS: null
  }
  const event = nextEvent<CallRecord>(api, 'call')
  assert.equal(((await api.handle('calls.record', call)) as CallRecord).peer, 'sip:Frank@example.org')
  assert.equal((await event).outcome, 'missed')
  await api.handle('calls.record', { ...call, id: 'c2', direction: 'outgoing', outcome: 'answered', startedAt: '2026-11-22T11:00:00.000Z', durationS: 61 })
  await assert.rejects(api.handle('calls.record', { ...call, id: 'c3', outcome: 'exploded' }), /outcome/)
  await assert.rejects(api.handle('settings.set', { theme: 'neon' }), /theme/)
  await api.handle('settings.set', { theme: 'dark', autoAnswer: true })

  // A torn last line (a crash mid-append) costs that line only.
  await writeFile(join(dir, 'calls.jsonl'), (await readFile(join(dir, 'calls.jsonl'), 'utf8')) + '{"id":"c9","direc')
  const reopened = await service(erin, dir)
  const calls = (await reopened.handle('calls.list', {})) as CallRecord[]
  assert.deepEqual(calls.map((c) => c.id), ['c2', 'c1'], 'newest first')
  assert.equal(((await reopened.handle('settings.get', {})) as { theme: string }).theme, 'dark')
})

test('first run: no AOR until the UI chooses one, then the peer starts and announces it', async () => {
  const dataDir = await lab.tempDir()
  const session = await PeerSession.open({ dataDir, bootstrap: lab.bootstrap, dhtHost: '127.0.0.1', log: silentLogger() })
  lab.onTeardown(() => session.close())
  const api = await ApiService.open(session, dataDir, silentLogger())
  lab.onTeardown(() => api.close())
  assert.equal(((await api.handle('identity.get', {})) as { state: string }).state, 'setup')
  await assert.rejects(api.handle('status', {}), { code: 'NOT_READY' })
  await assert.rejects(api.handle('identity.setup', { aor: 'mailto:x@y' }), { code: 'BAD_AOR' })
  const identity = (await api.handle('identity.setup', { aor: 'sip:grace@example.org', displayName: 'Grace' })) as { state: string; fingerprint: string }
  assert.equal(identity.state, 'running')
  assert.match(identity.fingerprint, /^\d{5}( \d{5}){7}$/)
  await assert.rejects(api.handle('identity.setup', { aor: 'sip:other@example.org' }), { code: 'ALREADY_SET_UP' })
  const probe = await lab.peer('sip:probe@example.org')
  const { keys } = await probe.lookup('sip:grace@example.org')
  assert.equal(keys[0]?.toString('hex'), session.peer?.identity.keyPair.publicKey.toString('hex'))
})
