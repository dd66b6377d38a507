import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type { PeerHost } from '../../main/peer-host.js'
import { setupRendererBridge } from '../../main/renderer-bridge.js'
import { BRIDGE_CHANNELS, MAX_SIP_PORT_MESSAGE } from '../../main/bridge-channels.js'
import type { PortFlow } from '../../main/port-flow.js'
import type { ParleyBridge, SipConnection } from '../../app/api/desktop-bridge.js'
import { MAX_REQUEST_BYTES } from '../../app/api/contract.js'
import { ParleyError } from '../../app/errors.js'
import { silentLogger } from '../../app/log.js'
import { SipRequest, newBranch, newCallId, newTag } from '../../app/sip/message.js'
import { WS_DEFAULTS } from '../../app/sip/transports/ws-transport.js'
import { Lab } from '../helpers/overlay.js'
import { APP_ORIGIN, FakeFrame, FakeIpcMain, loadPreload, mainPort, newChannel, startBridgeLab, trustedCheck } from './helpers/bridge-harness.js'

const AOR = 'sip:desk@example.org'
let lab: Lab
let host: PeerHost
let top: FakeFrame
let ipc: FakeIpcMain
const mainPorts: ReturnType<typeof mainPort>[] = []
const malformed: string[] = []

before(async () => {
  ({ lab, host, top, ipc } = await startBridgeLab(AOR, `${APP_ORIGIN}/app/index.html`, {
    newChannel: newChannel(mainPorts),
    onMalformedSip: (_flow: PortFlow, _raw: unknown, reason: string) => void malformed.push(reason)
  }))
})
after(() => lab.destroy())

/** A page in the trusted top frame, with its own preload. */
function page(frame = top): ParleyBridge {
  frame.rendererListeners.clear()
  return loadPreload(frame, ipc)
}

/** The raw API port main hands a trusted frame, to send what a hostile page could. */
async function rawApiPort(): Promise<{ port: MessagePort; next: () => Promise<Record<string, unknown>> }> {
  top.rendererListeners.clear()
  const got = new Promise<MessagePort>((resolve) => top.rendererListeners.set(BRIDGE_CHANNELS.apiPort, [(e) => resolve(e.ports[0]!)]))
  ipc.send(top, BRIDGE_CHANNELS.apiConnect)
  const port = await got
  const replies: string[] = []
  const waiting: Array<(text: string) => void> = []
  port.on('message', (text: string) => (waiting.length ? waiting.shift()!(text) : replies.push(text)))
  const next = () => new Promise<string>((resolve) => (replies.length ? resolve(replies.shift()!) : waiting.push(resolve))).then((t) => JSON.parse(t) as Record<string, unknown>)
  return { port, next }
}

interface SipClient {
  conn: SipConnection
  opened: Promise<void>
  next(): Promise<string>
  closed: Promise<string>
}

function sipClient(parley: ParleyBridge): SipClient {
  const messages: string[] = []
  const waiting: Array<(t: string) => void> = []
  let opened!: () => void
  let closed!: (r: string) => void
  const openedP = new Promise<void>((r) => (opened = r))
  const closedP = new Promise<string>((r) => (closed = r))
  const conn = parley.sip.connect({
    onOpen: () => opened(),
    onMessage: (t) => (waiting.length ? waiting.shift()!(t) : messages.push(t)),
    onClose: (reason) => closed(reason)
  })
  return { conn, opened: openedP, closed: closedP, next: () => new Promise((r) => (messages.length ? r(messages.shift()!) : waiting.push(r))) }
}

/** A request from the page's UA over the bridge (Via WS, as JsSIP writes it), with `extra` headers before Content-Length. */
function request(method: string, uri: string, extra: Array<[string, string]> = []): string {
  const m = new SipRequest(method, uri)
  m.append('Via', `SIP/2.0/WS df7jal23ls0d.invalid;branch=${newBranch()}`)
  m.append('Max-Forwards', '70')
  m.append('From', `<${AOR}>;tag=${newTag()}`)
  m.append('To', `<${AOR}>`)
  m.append('Call-ID', newCallId())
  m.append('CSeq', `1 ${method}`)
  for (const [name, value] of extra) m.append(name, value)
  m.append('Content-Length', '0')
  return m.serialize().toString()
}

const register = () =>
  request('REGISTER', 'sip:example.org', [
    ['Contact', '<sip:ui@df7jal23ls0d.invalid;transport=ws>'],
    ['Expires', '600']
  ])
const options = () => request('OPTIONS', AOR)

const statusLine = (text: string) => text.split('\r\n')[0]

test('the SIP port cap is the SIP-over-WebSocket payload cap', () => {
  assert.equal(MAX_SIP_PORT_MESSAGE, WS_DEFAULTS.maxPayload)
})

test('the preload calls the contract over its port and gets the real peer status', async () => {
  const parley = page()
  assert.deepEqual(Object.keys(parley).sort(), ['api', 'platform', 'shell', 'sip'])
  const reply = await parley.api.call('status')
  assert.equal(reply.ok, true)
  assert.equal(reply.ok && reply.result.aor, AOR)
  assert.equal(reply.ok && reply.result.overlay.state, (await host.served).session.require().status().overlay.state)
  const identity = await parley.api.call('identity.get', {})
  assert.deepEqual(identity.ok && { aor: identity.result.aor, state: identity.result.state }, { aor: AOR, state: 'running' })
})

test('contract events are pushed to the page', async () => {
  const parley = page()
  const seen = new Promise<unknown>((resolve) => parley.api.on('settings', resolve))
  const reply = await parley.api.call('settings.set', { ringtone: false })
  assert.equal(reply.ok, true)
  assert.deepEqual(((await seen) as { ringtone: boolean }).ringtone, false)
  assert.throws(() => parley.api.on('nope' as 'settings', () => {}), /unknown event "nope"/)
})

test('errors reach the page as plain data with their code', async () => {
  const parley = page()
  const reply = await parley.api.call('buddies.add', { aor: '' })
  assert.equal(reply.ok, false)
  assert.equal(!reply.ok && reply.error.code, 'BAD_REQUEST')
  assert.match(!reply.ok ? reply.error.message : '', /aor/)
})

test('an unknown method is refused in the preload without reaching main, and again in main', async () => {
  const parley = page()
  await parley.api.call('status') // the port is up
  const port = mainPorts.at(-1)!
  const before = port.received
  const reply = await parley.api.call('shutdown' as 'status')
  assert.deepEqual(reply, { ok: false, error: { code: 'BAD_REQUEST', message: 'unknown method "shutdown"' } })
  assert.equal(port.received, before)

  const raw = await rawApiPort()
  raw.port.postMessage(JSON.stringify({ id: 7, method: 'shutdown', params: {} }))
  assert.deepEqual(await raw.next(), { id: 7, ok: false, error: { code: 'BAD_REQUEST', message: 'unknown method "shutdown"' } })
  raw.port.close()
})

test('hostile frames on the API port get clear errors and break nothing', async () => {
  const raw = await rawApiPort()
  raw.port.postMessage({ id: 1, method: 'status' })
  assert.deepEqual(await raw.next(), { id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'expected one JSON request envelope as text' } })
  raw.port.postMessage(42)
  assert.equal(((await raw.next()).error as { code: string }).code, 'BAD_REQUEST')
  raw.port.postMessage(new Uint8Array(10))
  assert.equal(((await raw.next()).error as { code: string }).code, 'BAD_REQUEST')
  raw.port.postMessage('x'.repeat(MAX_REQUEST_BYTES + 1))
  assert.deepEqual((await raw.next()).error, { code: 'BAD_REQUEST', message: `request exceeds ${MAX_REQUEST_BYTES} bytes` })
  raw.port.postMessage('é'.repeat(MAX_REQUEST_BYTES / 2 + 1)) // few characters, too many bytes
  assert.deepEqual((await raw.next()).error, { code: 'BAD_REQUEST', message: `request exceeds ${MAX_REQUEST_BYTES} bytes` })
  raw.port.postMessage('{not json')
  assert.deepEqual((await raw.next()).error, { code: 'BAD_REQUEST', message: 'request is not JSON' })
  raw.port.postMessage('{"id": "one", "method": "status"}')
  assert.equal(((await raw.next()).error as { code: string }).code, 'BAD_REQUEST')
  raw.port.postMessage(JSON.stringify({ id: 9, method: 'status', params: { extra: 1 } }))
  const bad = await raw.next()
  assert.equal(bad.id, 9)
  assert.equal((bad.error as { code: string }).code, 'BAD_REQUEST')
  // Still answering.
  raw.port.postMessage(JSON.stringify({ id: 10, method: 'identity.get' }))
  const ok = await raw.next()
  assert.deepEqual([ok.id, ok.ok], [10, true])
  raw.port.close()
})

test('the preload refuses what it cannot send and never throws across the bridge for calls', async () => {
  const parley = page()
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const r1 = await parley.api.call('settings.set', cyclic as never)
  assert.equal(!r1.ok && r1.error.code, 'BAD_REQUEST')
  const r2 = await parley.api.call('messages.send', { to: 'sip:bob@example.org', text: 'x'.repeat(MAX_REQUEST_BYTES) })
  assert.match(!r2.ok ? r2.error.message : '', /exceeds/)
  assert.throws(() => parley.sip.connect({} as never), /onOpen, onMessage, onClose/)
})

test('SIP from the preload reaches the peer over a port: REGISTER binds the UI, OPTIONS is answered', async () => {
  const parley = page()
  const sip = sipClient(parley)
  await sip.opened
  assert.equal(sip.conn.send(register()), true)
  assert.equal(statusLine(await sip.next()), 'SIP/2.0 200 OK')
  const peer = (await host.served).session.require()
  assert.equal(peer.sip.bindings.lookup(peer.aor).length, 1)
  assert.equal(sip.conn.send(options()), true)
  assert.match(statusLine(await sip.next()) ?? '', /^SIP\/2\.0 [2-4]\d\d /)
  sip.conn.close()
  assert.equal(await sip.closed, 'closed by the app')
  assert.equal(sip.conn.send(options()), false)
})

test('hostile frames on a SIP port are reported and dropped; the flow stays open', async () => {
  const parley = page()
  const sip = sipClient(parley)
  await sip.opened
  // What the preload refuses outright.
  assert.equal(sip.conn.send(42 as unknown as string), false)
  assert.equal(sip.conn.send('x'.repeat(MAX_SIP_PORT_MESSAGE + 1)), false)

  // What a hostile page could put on the port itself.
  top.rendererListeners.clear()
  const got = new Promise<MessagePort>((resolve) => top.rendererListeners.set(BRIDGE_CHANNELS.sipPort, [(e) => resolve(e.ports[0]!)]))
  ipc.send(top, BRIDGE_CHANNELS.sipConnect, { id: 1 })
  const port = await got
  const answers: string[] = []
  port.on('message', (t: string) => answers.push(t))
  malformed.length = 0
  port.postMessage({ not: 'text' })
  port.postMessage(new Uint8Array([1, 2, 3]))
  port.postMessage('x'.repeat(MAX_SIP_PORT_MESSAGE + 1))
  port.postMessage('garbage that is not SIP\r\n\r\n')
  port.postMessage('\r\n\r\n') // a keep-alive: ignored, not malformed
  port.postMessage(options())
  while (answers.length === 0) await new Promise((r) => setTimeout(r, 10))
  assert.match(statusLine(answers[0]!) ?? '', /^SIP\/2\.0 [2-4]\d\d /)
  assert.equal(malformed.length, 4)
  assert.match(malformed[0]!, /expected one SIP message as text, got object/)
  assert.match(malformed[1]!, /got binary data/)
  assert.match(malformed[2]!, /exceeds/)
  port.close()
  sip.conn.close()
})

test('an untrusted sender frame gets no ports; a bad SIP request gets a BAD_REQUEST', async () => {
  const iframe = new FakeFrame(`${APP_ORIGIN}/app/index.html`, 2, top)
  const foreign = new FakeFrame('https://evil.example/', 1)
  const otherWindow = new FakeFrame(`${APP_ORIGIN}/app/index.html`, 3)
  for (const frame of [iframe, foreign, otherWindow, null]) {
    ipc.send(frame, BRIDGE_CHANNELS.apiConnect)
    ipc.send(frame, BRIDGE_CHANNELS.sipConnect, { id: 1 })
  }
  for (const frame of [iframe, foreign, otherWindow]) assert.deepEqual(frame.posted, [])

  const posted = top.posted.length
  ipc.send(top, BRIDGE_CHANNELS.sipConnect, { id: 'x' })
  ipc.send(top, BRIDGE_CHANNELS.sipConnect, { id: 1 }, 'extra')
  ipc.send(top, BRIDGE_CHANNELS.apiConnect, { unexpected: true })
  const replies = top.posted.slice(posted)
  assert.equal(replies.length, 2)
  for (const r of replies) {
    assert.equal(r.channel, BRIDGE_CHANNELS.sipPort)
    assert.equal(r.ports, 0)
    assert.equal((r.message as { error: { code: string } }).error.code, 'BAD_REQUEST')
  }
})

test('a bridge opened before its peer queues requests; a peer that failed answers why', async () => {
  let open!: (p: unknown) => void
  const later = new Promise((r) => (open = r))
  const served = await host.served
  const frame = new FakeFrame(`${APP_ORIGIN}/app/`, 5)
  const early = new FakeIpcMain()
  const b1 = setupRendererBridge({ peer: later.then(() => served), isTrustedSender: trustedCheck(() => frame), log: silentLogger(), ipc: early, newChannel: newChannel() })
  const parley = loadPreload(frame, early)
  const call = parley.api.call('identity.get')
  await new Promise((r) => setTimeout(r, 50))
  open(null)
  const reply = await call
  assert.equal(reply.ok && reply.result.aor, AOR)
  b1.close()

  const failedFrame = new FakeFrame(`${APP_ORIGIN}/app/`, 6)
  const failedIpc = new FakeIpcMain()
  const b2 = setupRendererBridge({
    peer: Promise.reject(new ParleyError('DATA_CORRUPT', 'identity.json is not JSON')),
    isTrustedSender: trustedCheck(() => failedFrame),
    log: silentLogger(),
    ipc: failedIpc,
    newChannel: newChannel()
  })
  const broken = loadPreload(failedFrame, failedIpc)
  assert.deepEqual(await broken.api.call('identity.get'), { ok: false, error: { code: 'DATA_CORRUPT', message: 'the peer did not start: identity.json is not JSON' } })
  b2.close()
})

test('closing the bridge closes the page side: pending calls and SIP connections end', async () => {
  const frame = new FakeFrame(`${APP_ORIGIN}/app/`, 7)
  const ownIpc = new FakeIpcMain()
  const b = setupRendererBridge({ peer: host.served, isTrustedSender: trustedCheck(() => frame), log: silentLogger(), ipc: ownIpc, newChannel: newChannel() })
  const parley = loadPreload(frame, ownIpc)
  await parley.api.call('status')
  const sip = sipClient(parley)
  await sip.opened
  const apiClosed = new Promise<string>((r) => parley.api.onClose(r))
  b.close()
  b.close()
  assert.equal(await apiClosed, 'the peer closed the bridge')
  assert.equal(await sip.closed, 'the peer closed the SIP connection')
  assert.deepEqual(await parley.api.call('status'), { ok: false, error: { code: 'CLOSED', message: 'connection to the peer closed: the peer closed the bridge' } })
  // No longer listening: a new page gets nothing.
  const before = frame.posted.length
  ownIpc.send(frame, BRIDGE_CHANNELS.apiConnect)
  assert.equal(frame.posted.length, before)
})

test('a SIP port closed by the page closes its flow', async () => {
  const { port1, port2 } = new MessageChannel()
  const { PortFlow } = await import('../../main/port-flow.js')
  const flow = new PortFlow(mainPort(port1), silentLogger())
  assert.equal(flow.open, true)
  const closing = once(flow, 'close')
  port2.close()
  assert.deepEqual(await closing, ['the page closed its SIP port'])
  assert.equal(flow.open, false)
})
