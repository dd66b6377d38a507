import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import * as JsSIP from 'jssip'
import { ApiCallError, ApiClient } from '../../app/api/client.js'
import { silentLogger } from '../../app/log.js'
import type { PeerHost } from '../../main/peer-host.js'
import { setupShellChannel, type ShellChannel, type ShellReport } from '../../main/shell-channel.js'
import type { PortFlow } from '../../main/port-flow.js'
import type { ShellCommand } from '../../app/api/desktop-bridge.js'
import { BridgeSipSocket } from '../../renderer/src/transport/bridge-sip-socket.js'
import { bridgeTransport } from '../../renderer/src/transport/bridge-transport.js'
import { Lab } from '../helpers/overlay.js'
import { APP_ORIGIN, FakeFrame, FakeIpcMain, loadPreload, pageOf, startBridgeLab, trustedCheck } from './helpers/bridge-harness.js'

// The renderer's own transports (platform.ts in the desktop app) over the real
// preload bundle, the real bridge in main and a real peer on a local testnet.

const AOR = 'sip:carol@example.org'
let lab: Lab
let host: PeerHost
let top: FakeFrame
let ipc: FakeIpcMain
let shell: ShellChannel
const reports: ShellReport[] = []
const flows: PortFlow[] = []

before(async () => {
  ;({ lab, host, top, ipc } = await startBridgeLab(AOR, `${APP_ORIGIN}/index.html`))
  shell = setupShellChannel({ ipc, isTrustedSender: trustedCheck(() => top), page: () => pageOf(top), onReport: (r) => void reports.push(r), log: silentLogger() })
  lab.onTeardown(async () => shell.close())
  const served = await host.served
  // Every SIP flow the bridge attaches, so a test can drop one from main's side.
  const stack = served.sip()!
  const attach = stack.attachOwnUi.bind(stack)
  stack.attachOwnUi = (flow) => {
    flows.push(flow as PortFlow)
    return attach(flow)
  }
})
after(() => lab.destroy())

function freshPage() {
  top.rendererListeners.clear()
  return loadPreload(top, ipc)
}

test("the renderer's ApiClient runs over the preload: validated results, events and errors with their code", async () => {
  const client = new ApiClient(bridgeTransport(freshPage().api))
  const status = await client.call('status')
  assert.equal(status.aor, AOR)
  const seen = new Promise<{ autoAnswer: boolean }>((resolve) => client.on('settings', resolve))
  await client.call('settings.set', { autoAnswer: true })
  assert.equal((await seen).autoAnswer, true)
  // Refused by the peer, not by the client's own checks: the code crosses the bridge.
  await assert.rejects(client.call('buddies.add', { aor: AOR }), (err: unknown) => err instanceof ApiCallError && err.code === 'BAD_REQUEST' && /your own address/.test(err.message))
})

test("the renderer's JsSIP registers at its own peer over the bridge, and registers again after main drops the port", async () => {
  const socket = new BridgeSipSocket(freshPage().sip)
  const ua = new JsSIP.UA({ sockets: [socket], uri: AOR, register: true, connection_recovery_min_interval: 1, connection_recovery_max_interval: 2 })
  const peer = (await host.served).session.require()
  try {
    const registered = once(ua, 'registered')
    ua.start()
    await registered
    assert.equal(socket.isConnected(), true)
    assert.equal(peer.sip.bindings.lookup(peer.aor).length, 1)

    const flow = flows.at(-1)!
    const again = once(ua, 'registered')
    const lost = once(ua, 'disconnected')
    flow.close('main dropped it')
    await lost
    await again
    assert.notEqual(flows.at(-1), flow)
    assert.equal(peer.sip.bindings.lookup(peer.aor).length >= 1, true)
  } finally {
    const stopped = once(ua, 'unregistered')
    ua.stop()
    await stopped
  }
  assert.equal(peer.sip.bindings.lookup(peer.aor).length, 0)
})

test('the shell channel reaches the page both ways; reports are checked in main', async () => {
  const parley = freshPage()
  const commands: ShellCommand[] = []
  const off = parley.shell.onCommand((c) => void commands.push(c))
  shell.pageLoading()
  shell.send({ type: 'dial', target: 'sip:dave@example.org' }) // held until the page is ready
  await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(commands, [])

  assert.deepEqual(await parley.shell.report({ type: 'ready' }), { ok: true })
  await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(commands, [{ type: 'dial', target: 'sip:dave@example.org' }])

  assert.deepEqual(await parley.shell.report({ type: 'ringing', callId: 'c1', peer: 'sip:dave@example.org' }), { ok: true })
  assert.deepEqual(reports.at(-1), { type: 'ringing', callId: 'c1', peer: 'sip:dave@example.org' })
  const bad = (await parley.shell.report({ type: 'calls', active: ['x'.repeat(300)] })) as { ok: boolean; error: { code: string } }
  assert.equal(bad.ok, false)
  assert.equal(bad.error.code, 'BAD_REQUEST')
  assert.equal(reports.length, 2)

  off()
  shell.send({ type: 'restart-ice' })
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(commands.length, 1)

  // An iframe of the page gets nothing from main.
  const iframe = new FakeFrame(`${APP_ORIGIN}/index.html`, 9, top)
  await assert.rejects(loadPreload(iframe, ipc).shell.report({ type: 'ready' }), /only to the main window's top frame/)
})
