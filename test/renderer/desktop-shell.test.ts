import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectDesktopShell, type ShellCommand, type ShellReport } from '../../renderer/src/desktop/desktop-shell.js'
import type { CallView, PhoneState } from '../../renderer/src/phone/phone.js'

const call = (over: Partial<CallView>): CallView =>
  ({ id: 'c1', direction: 'incoming', peer: 'sip:bob@example.org', peerName: 'Bob', state: 'ringing', muted: false, earlyMedia: false, startedAt: 0, answeredAt: null, endedAt: null, endCause: null, sipStatus: null, transfer: 'none', relay: null, ...over }) as CallView

function harness() {
  const reports: ShellReport[] = []
  const done: string[] = []
  let phoneListener: (s: PhoneState) => void = () => {}
  let commandListener: (c: ShellCommand) => void = () => {}
  const off = connectDesktopShell(
    { report: async (r) => void reports.push(r), onCommand: (fn) => ((commandListener = fn), () => (commandListener = () => {})) },
    {
      subscribe: (fn) => ((phoneListener = fn), () => (phoneListener = () => {})),
      answer: (id) => void done.push(`answer ${id}`),
      decline: (id) => void done.push(`decline ${id}`),
      restartIce: () => void done.push('restart-ice'),
      dial: (t) => void done.push(`dial ${t}`),
      route: (r) => void done.push(`route ${r}`)
    }
  )
  const phone = (c: CallView | null) => phoneListener({ registration: 'registered', registrationError: null, call: c } as PhoneState)
  return { reports, done, phone, command: (c: ShellCommand) => commandListener(c), off }
}

test('the page says ready, reports a ringing call once and the active set as it changes', () => {
  const h = harness()
  h.phone(call({}))
  h.phone(call({})) // the same ringing call again: no second report
  h.phone(call({ state: 'connected' }))
  h.phone(call({ state: 'ended' }))
  h.phone(call({ id: 'c2', direction: 'outgoing', state: 'calling', peerName: null }))
  assert.deepEqual(h.reports, [
    { type: 'ready' },
    { type: 'ringing', callId: 'c1', peer: 'sip:bob@example.org', peerName: 'Bob' },
    { type: 'calls', active: ['c1'] },
    { type: 'calls', active: [] },
    { type: 'calls', active: ['c2'] }
  ])
})

test("the shell's commands reach the phone and the views; after off() nothing does", () => {
  const h = harness()
  h.command({ type: 'dial', target: 'sip:carol@example.org' })
  h.command({ type: 'route', route: '#/history' })
  h.command({ type: 'answer', callId: 'c1' })
  h.command({ type: 'decline', callId: 'c1' })
  h.command({ type: 'restart-ice' })
  assert.deepEqual(h.done, ['dial sip:carol@example.org', 'route #/history', 'answer c1', 'decline c1', 'restart-ice'])
  h.off()
  h.command({ type: 'restart-ice' })
  h.phone(call({ id: 'c9' }))
  assert.equal(h.done.length, 5)
  assert.equal(h.reports.length, 1)
})
