import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { SHELL_CHANNELS, setupShellChannel, type ShellCommand, type ShellReport } from '../../main/shell-channel.js'
import type { FrameLike } from '../../main/ipc-guard.js'

const trusted: FrameLike = { url: 'app://parley/app/index.html', parent: null, frameTreeNodeId: 1 } as FrameLike
const stranger: FrameLike = { url: 'https://evil.example/', parent: null, frameTreeNodeId: 2 } as FrameLike

function harness() {
  const handlers = new Map<string, (event: { senderFrame: FrameLike | null }, ...args: unknown[]) => unknown>()
  const sent: ShellCommand[] = []
  const reports: ShellReport[] = []
  let pageOpen = true
  const shell = setupShellChannel({
    ipc: { handle: (c, l) => void handlers.set(c, l), removeHandler: (c) => void handlers.delete(c) },
    isTrustedSender: (f) => f === trusted,
    page: () => (pageOpen ? { send: (channel, command) => void (channel === SHELL_CHANNELS.command && sent.push(command)) } : null),
    onReport: (r) => void reports.push(r),
    log: pino({ level: 'silent' })
  })
  const report = (frame: FrameLike | null, ...args: unknown[]) => handlers.get(SHELL_CHANNELS.report)!({ senderFrame: frame }, ...args)
  return { shell, sent, reports, report, handlers, setPage: (open: boolean) => (pageOpen = open) }
}

test('commands wait for the page to say ready, then arrive in order; a reload holds them again', () => {
  const h = harness()
  h.shell.send({ type: 'dial', target: 'sip:bob@example.org' })
  h.shell.send({ type: 'route', route: '#/history' })
  assert.deepEqual(h.sent, [])
  assert.deepEqual(h.report(trusted, { type: 'ready' }), { ok: true })
  assert.deepEqual(h.sent, [{ type: 'dial', target: 'sip:bob@example.org' }, { type: 'route', route: '#/history' }])
  h.shell.send({ type: 'restart-ice' })
  assert.equal(h.sent.length, 3)
  h.shell.pageLoading()
  h.shell.send({ type: 'answer', callId: 'c1' })
  assert.equal(h.sent.length, 3)
  h.report(trusted, { type: 'ready' })
  assert.deepEqual(h.sent.at(-1), { type: 'answer', callId: 'c1' })
})

test('reports reach the shell only from the trusted frame and only in shape', () => {
  const h = harness()
  assert.throws(() => h.report(stranger, { type: 'ringing', callId: 'c1', peer: 'sip:eve@example.org' }), /FORBIDDEN|only to the main window/)
  assert.throws(() => h.report(null, { type: 'ready' }))
  for (const bad of [undefined, 'ready', { type: 'ringing' }, { type: 'ringing', callId: '', peer: 'x' }, { type: 'calls', active: 'c1' }, { type: 'calls', active: Array(33).fill('c') }, { type: 'ready', extra: 1 }, { type: 'shutdown' }, { type: 'desktop-settings', openAtLogin: 'yes' }, { type: 'desktop-settings', openAtLogin: true, execPath: '/bin/sh' }]) {
    const reply = h.report(trusted, bad) as { ok: boolean; error?: { code: string } }
    assert.equal(reply.ok, false, JSON.stringify(bad))
    assert.equal(reply.error?.code, 'BAD_REQUEST')
  }
  assert.deepEqual(h.reports, [])
  h.report(trusted, { type: 'ringing', callId: 'c1', peer: 'sip:bob@example.org', peerName: 'Bob' })
  h.report(trusted, { type: 'calls', active: ['c1'] })
  assert.deepEqual(h.reports, [{ type: 'ringing', callId: 'c1', peer: 'sip:bob@example.org', peerName: 'Bob' }, { type: 'calls', active: ['c1'] }])
})

test('a closed window queues at most 16 commands, the newest; close() stops answering', () => {
  const h = harness()
  h.report(trusted, { type: 'ready' })
  h.setPage(false)
  for (let i = 0; i < 20; i++) h.shell.send({ type: 'route', route: `#/chat/${i}` })
  assert.deepEqual(h.sent, [])
  h.setPage(true)
  h.report(trusted, { type: 'ready' })
  assert.deepEqual(h.sent.map((c) => (c as { route: string }).route), Array.from({ length: 16 }, (_, i) => `#/chat/${i + 4}`))
  h.shell.close()
  assert.equal(h.handlers.size, 0)
})
