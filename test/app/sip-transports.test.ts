import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket as DgramSocket } from 'node:dgram'
import { once, type EventEmitter } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import { createLogger, silentLogger } from '../../app/log.js'
import { SipRequest, SipResponse, createResponse, newBranch, newCallId, type SipMessage } from '../../app/sip/message.js'
import { parseSipMessage } from '../../app/sip/parser.js'
import { SipStreamFramer } from '../../app/sip/stream-framer.js'
import type { SipSource, SipTransport } from '../../app/sip/transport.js'
import { SourceRateLimiter } from '../../app/sip/transports/rate-limiter.js'
import { sourceKey } from '../../app/sip/transports/source-address.js'
import { TcpTransport, type TcpTransportOptions } from '../../app/sip/transports/tcp-transport.js'
import { UdpTransport, UDP_MTU_LIMIT, mtuExceeded } from '../../app/sip/transports/udp-transport.js'
import { WsTransport, type WsTransportOptions } from '../../app/sip/transports/ws-transport.js'
import { errorCode } from '../../app/errors.js'

const log = process.env.PARLEY_TEST_LOG ? createLogger(process.env.PARLEY_TEST_LOG) : silentLogger()
const HOST = '127.0.0.1'
/** Linux routes all of 127/8 to loopback: a second source address for per-source tests. */
const OTHER_HOST = '127.0.0.2'

function request(method = 'OPTIONS', body = ''): SipRequest {
  const req = new SipRequest(method, 'sip:bob@example.org')
  req.append('Via', `SIP/2.0/UDP client.invalid;branch=${newBranch()}`)
  req.append('From', '<sip:alice@example.org>;tag=1')
  req.append('To', '<sip:bob@example.org>')
  req.append('Call-ID', newCallId())
  req.append('CSeq', `1 ${method}`)
  req.body = Buffer.from(body)
  return req
}

/** Everything a transport emits, in order. */
function record(transport: SipTransport) {
  const messages: Array<{ message: SipMessage; source: SipSource }> = []
  const malformed: Array<{ raw: Buffer; source: SipSource; reason: string }> = []
  transport.on('message', (message, source) => messages.push({ message, source }))
  transport.on('malformed', (raw, source, reason) => malformed.push({ raw, source, reason }))
  return { messages, malformed }
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

function withTimeout<T extends unknown[]>(emitter: EventEmitter, event: string, ms = 3000): Promise<T> {
  return once(emitter, event, { signal: AbortSignal.timeout(ms) }) as Promise<T>
}

async function udpClient(t: TestContext, host = HOST): Promise<DgramSocket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, host, resolve))
  t.after(() => socket.close())
  return socket
}

async function tcpClient(t: TestContext, port: number, localAddress = HOST): Promise<Socket> {
  const socket = connect({ host: HOST, port, localAddress })
  socket.on('error', () => {})
  t.after(() => socket.destroy())
  await withTimeout(socket, 'connect')
  socket.setNoDelay(true)
  return socket
}

/** Messages a raw TCP socket receives, framed as the transport would. */
function framedFrom(socket: Socket): SipMessage[] {
  const got: SipMessage[] = []
  const framer = new SipStreamFramer()
  framer.on('message', (m) => got.push(m))
  socket.on('data', (chunk: Buffer) => framer.push(chunk))
  return got
}

async function listenUdp(t: TestContext, opts: Partial<Parameters<typeof UdpTransport.listen>[0]> = {}) {
  const transport = await UdpTransport.listen({ host: HOST, port: 0, log, ...opts })
  t.after(() => transport.close())
  return transport
}

async function listenTcp(t: TestContext, opts: Partial<TcpTransportOptions> = {}) {
  const transport = await TcpTransport.listen({ host: HOST, port: 0, log, ...opts })
  t.after(() => transport.close())
  return transport
}

async function listenWs(t: TestContext, opts: Partial<WsTransportOptions> = {}) {
  const transport = await WsTransport.listen({ host: HOST, port: 0, log, ...opts })
  t.after(() => transport.close())
  return transport
}

async function wsClient(t: TestContext, port: number, protocols: string[] = ['sip']): Promise<WebSocket> {
  const ws = new WebSocket(`ws://${HOST}:${port}/`, protocols)
  ws.on('error', () => {})
  t.after(() => ws.terminate())
  await withTimeout(ws, 'open')
  return ws
}

/** The HTTP status a WebSocket handshake was refused with. */
async function refusedWith(port: number, protocols: string[], headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(`ws://${HOST}:${port}/`, protocols, { headers })
  ws.on('error', () => {})
  const outcome = await Promise.race([
    withTimeout<[unknown, { statusCode: number }]>(ws, 'unexpected-response').then(([, res]) => res.statusCode),
    withTimeout(ws, 'open').then(() => 101)
  ])
  ws.terminate()
  return outcome
}

// ---------------------------------------------------------------- UDP

test('UDP: a datagram request arrives with its source, and sendTo answers it', async (t) => {
  const transport = await listenUdp(t)
  assert.equal(transport.name, 'UDP')
  assert.equal(transport.reliable, false)
  assert.notEqual(transport.local.port, 0)
  const client = await udpClient(t)
  const req = request()
  client.send(req.serialize(), transport.local.port, HOST)

  const [message, source] = await withTimeout<[SipRequest, SipSource]>(transport, 'message')
  assert.equal(message.method, 'OPTIONS')
  assert.equal(message.callId, req.callId)
  assert.deepEqual(source, { transport: 'UDP', host: HOST, port: client.address().port, flow: null })

  const reply = withTimeout<[Buffer]>(client, 'message')
  await transport.sendTo(createResponse(message, 200), source.host, source.port)
  const response = parseSipMessage((await reply)[0]) as SipResponse
  assert.equal(response.status, 200)
  assert.equal(response.callId, req.callId)
})

test('UDP: an unparsable datagram is reported as malformed; CRLF keep-alives and oversized datagrams are dropped', async (t) => {
  const transport = await listenUdp(t, { maxDatagramBytes: 600 })
  const seen = record(transport)
  const client = await udpClient(t)
  const send = (bytes: Buffer | string) => client.send(Buffer.from(bytes), transport.local.port, HOST)

  send('GARBAGE\r\n\r\n')
  await until('malformed', () => seen.malformed.length === 1)
  assert.equal(seen.malformed[0]?.raw.toString(), 'GARBAGE\r\n\r\n')
  assert.match(seen.malformed[0]?.reason ?? '', /start line/)
  assert.equal(seen.malformed[0]?.source.port, client.address().port)

  send('\r\n\r\n')
  send(request('MESSAGE', 'x'.repeat(700)).serialize())
  send(request('MESSAGE', 'small').serialize())
  await until('the small message', () => seen.messages.length === 1)
  assert.equal(seen.messages[0]?.message.body.toString(), 'small')
  assert.equal(seen.malformed.length, 1, 'keep-alive and oversized datagrams are not reported as malformed')
  assert.deepEqual(transport.stats(), { oversized: 1, keepAlives: 1 })
})

test('UDP: mtuExceeded flags messages over 1300 bytes (RFC 3261 §18.1.1)', () => {
  assert.equal(UDP_MTU_LIMIT, 1300)
  assert.equal(mtuExceeded(request('MESSAGE', 'hi')), false)
  assert.equal(mtuExceeded(request('MESSAGE', 'x'.repeat(1300))), true)
})

test('UDP: a flood from one source is dropped while another source is still served', async (t) => {
  const transport = await listenUdp(t, { rateLimit: { ratePerSecond: 1, burst: 5 } })
  const seen = record(transport)
  const flooder = await udpClient(t, HOST)
  const other = await udpClient(t, OTHER_HOST)
  for (let i = 0; i < 30; i++) flooder.send(request('MESSAGE', `flood ${i}`).serialize(), transport.local.port, HOST)
  await until('the flood to be counted', () => transport.rateLimiter.stats().allowed + transport.rateLimiter.stats().dropped === 30)
  other.send(request('MESSAGE', 'legit').serialize(), transport.local.port, HOST)
  await until('the other source', () => seen.messages.some((m) => m.source.host === OTHER_HOST))

  assert.equal(seen.messages.filter((m) => m.source.host === HOST).length, 5)
  assert.deepEqual(transport.rateLimiter.stats(), { allowed: 6, dropped: 25, sources: 2, evicted: 0 })
})

// ---------------------------------------------------------------- TCP

test('TCP: a message split across arbitrary writes is framed, with its flow as source', async (t) => {
  const transport = await listenTcp(t)
  assert.equal(transport.name, 'TCP')
  assert.equal(transport.reliable, true)
  const seen = record(transport)
  const client = await tcpClient(t, transport.local.port)
  const wire = Buffer.concat([request('MESSAGE', 'héllo').serialize(), Buffer.from('\r\n\r\n'), request('MESSAGE', 'wörld').serialize()])
  const sizes = [1, 2, 3, 17, 40, 5, 200]
  for (let at = 0, i = 0; at < wire.length; i++) {
    const size = sizes[i % sizes.length] as number
    client.write(wire.subarray(at, at + size))
    at += size
    await sleep(1)
  }
  await until('both messages', () => seen.messages.length === 2)
  assert.deepEqual(seen.messages.map((m) => m.message.body.toString()), ['héllo', 'wörld'])
  const source = seen.messages[0]?.source
  assert.equal(source?.transport, 'TCP')
  assert.equal(source?.host, HOST)
  assert.equal(source?.port, client.localPort)
  assert.equal(source?.flow?.transport, 'TCP')
  assert.equal(source?.flow?.remoteHost, HOST)
  assert.equal(source?.flow?.remotePort, client.localPort)
  assert.equal(source?.flow, seen.messages[1]?.source.flow, 'one connection, one flow')
})

test('TCP: garbage closes only that connection; another keeps working', async (t) => {
  const transport = await listenTcp(t)
  const seen = record(transport)
  const bad = await tcpClient(t, transport.local.port)
  const good = await tcpClient(t, transport.local.port)
  const goodGot = framedFrom(good)
  await until('two flows', () => transport.flows.size === 2)

  const badPort = bad.localPort
  const badClosed = withTimeout(bad, 'close')
  bad.write('GARBAGE SOMETHING\r\n\r\n')
  await badClosed
  assert.equal(seen.malformed.length, 1)
  assert.match(seen.malformed[0]?.reason ?? '', /start line/)
  assert.equal(seen.malformed[0]?.source.port, badPort)
  assert.equal(seen.malformed[0]?.source.flow?.open, false)

  good.write(request().serialize())
  await until('the good request', () => seen.messages.length === 1)
  const { message, source } = seen.messages[0] as { message: SipRequest; source: SipSource }
  assert.equal(source.flow?.send(createResponse(message, 200)), true)
  await until('the response', () => goodGot.length === 1)
  assert.equal((goodGot[0] as SipResponse).status, 200)
  assert.equal(transport.flows.size, 1)
  assert.equal(good.destroyed, false)
})

test('TCP: oversized headers close the connection', async (t) => {
  const transport = await listenTcp(t, { limits: { maxHeadBytes: 512, maxBodyBytes: 512 } })
  const seen = record(transport)
  const client = await tcpClient(t, transport.local.port)
  const closed = withTimeout(client, 'close')
  const req = request()
  req.append('Subject', 'x'.repeat(1000))
  client.write(req.serialize())
  await closed
  assert.equal(seen.messages.length, 0)
  assert.match(seen.malformed[0]?.reason ?? '', /headers exceed 512/)
  await until('the flow to be forgotten', () => transport.flows.size === 0)
})

test('TCP: sendTo reuses the inbound connection, and opens one when none exists', async (t) => {
  const transport = await listenTcp(t)
  const seen = record(transport)

  // Inbound: the response goes back on the connection the request came in on.
  const client = await tcpClient(t, transport.local.port)
  const clientGot = framedFrom(client)
  client.write(request().serialize())
  await until('the request', () => seen.messages.length === 1)
  const { message, source } = seen.messages[0] as { message: SipRequest; source: SipSource }
  await transport.sendTo(createResponse(message, 200), source.host, source.port)
  await until('the response', () => clientGot.length === 1)
  assert.equal(transport.flows.size, 1)

  // Outbound: a plain server; two requests share one connection it opened.
  const accepted: Socket[] = []
  const serverGot: SipMessage[] = []
  const server = createServer((socket) => {
    accepted.push(socket)
    const framer = new SipStreamFramer()
    framer.on('message', (m) => serverGot.push(m))
    socket.on('data', (chunk: Buffer) => framer.push(chunk))
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  t.after(() => {
    for (const s of accepted) s.destroy()
    server.close()
  })
  const port = (server.address() as { port: number }).port
  await Promise.all([transport.sendTo(request('MESSAGE', 'one'), HOST, port), transport.sendTo(request('MESSAGE', 'two'), HOST, port)])
  await transport.sendTo(request('MESSAGE', 'three'), HOST, port)
  await until('three messages', () => serverGot.length === 3)
  assert.deepEqual(serverGot.map((m) => m.body.toString()).sort(), ['one', 'three', 'two'])
  assert.equal(accepted.length, 1, 'one connection for all three')
  assert.equal(transport.flows.size, 2)

  // A request arriving on that outbound connection names it as its flow.
  accepted[0]?.write(request('MESSAGE', 'back').serialize())
  await until('the request from the server', () => seen.messages.length === 2)
  assert.equal(seen.messages[1]?.source.port, port)
  assert.equal(seen.messages[1]?.source.flow?.remotePort, port)
})

test('TCP: a connection opened to a host name is reused for that name', async (t) => {
  const transport = await listenTcp(t)
  const accepted: Socket[] = []
  const server = createServer((socket) => accepted.push(socket))
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  t.after(() => {
    for (const s of accepted) s.destroy()
    server.close()
  })
  const port = (server.address() as { port: number }).port
  await transport.sendTo(request('MESSAGE', 'one'), 'localhost', port)
  await transport.sendTo(request('MESSAGE', 'two'), 'localhost', port)
  await until('the connection', () => accepted.length === 1)
  await sleep(50)
  assert.equal(accepted.length, 1)
  assert.equal(transport.flows.size, 1)
})

test('TCP: sendTo to an address nobody listens on fails with CONNECT_FAILED', async (t) => {
  const transport = await listenTcp(t)
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, HOST, resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
  await assert.rejects(transport.sendTo(request(), HOST, port), (err) => errorCode(err) === 'CONNECT_FAILED')
  assert.equal(transport.flows.size, 0)
})

test('TCP: idle connections are closed after the timeout', async (t) => {
  const transport = await listenTcp(t, { idleTimeoutMs: 150 })
  const client = await tcpClient(t, transport.local.port)
  await until('the flow', () => transport.flows.size === 1)
  const started = Date.now()
  await withTimeout(client, 'close')
  assert.ok(Date.now() - started >= 100, 'not before the timeout')
  await until('the flow to be forgotten', () => transport.flows.size === 0)
})

test('TCP: connections beyond the caps are refused; admitted ones keep working', async (t) => {
  const transport = await listenTcp(t, { maxConnections: 3, maxConnectionsPerSource: 2 })
  const seen = record(transport)
  const a = await tcpClient(t, transport.local.port)
  await tcpClient(t, transport.local.port)
  await until('two flows', () => transport.flows.size === 2)
  const thirdFromSameSource = await tcpClient(t, transport.local.port)
  await withTimeout(thirdFromSameSource, 'close')
  const fromOther = await tcpClient(t, transport.local.port, OTHER_HOST)
  await until('three flows', () => transport.flows.size === 3)
  const overTotal = await tcpClient(t, transport.local.port, '127.0.0.3')
  await withTimeout(overTotal, 'close')

  a.write(request('MESSAGE', 'a').serialize())
  fromOther.write(request('MESSAGE', 'other').serialize())
  await until('both messages', () => seen.messages.length === 2)
  assert.equal(transport.flows.size, 3)
})

test('TCP: a flood on one connection is dropped, another source is still served', async (t) => {
  const transport = await listenTcp(t, { rateLimit: { ratePerSecond: 1, burst: 5 } })
  const seen = record(transport)
  const flooder = await tcpClient(t, transport.local.port)
  flooder.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => request('MESSAGE', `flood ${i}`).serialize())))
  await until('the flood to be counted', () => transport.rateLimiter.stats().dropped === 16)
  const other = await tcpClient(t, transport.local.port, OTHER_HOST)
  other.write(request('MESSAGE', 'legit').serialize())
  await until('the other source', () => seen.messages.some((m) => m.source.host === OTHER_HOST))
  // The connection itself took the first of the burst of 5.
  assert.equal(seen.messages.filter((m) => m.source.host === HOST).length, 4)
})

test('TCP: a listener that throws does not take the transport down', async (t) => {
  const transport = await listenTcp(t)
  const seen = record(transport)
  transport.on('message', () => {
    throw new Error('a bug in the core')
  })
  const client = await tcpClient(t, transport.local.port)
  client.write(request('MESSAGE', 'one').serialize())
  await until('the first message', () => seen.messages.length === 1)
  client.write(request('MESSAGE', 'two').serialize())
  await until('the second message', () => seen.messages.length === 2)
  assert.equal(transport.flows.size, 1)
})

test('TCP: close is idempotent, closes every connection, and later sends fail with TRANSPORT_CLOSED', async (t) => {
  const transport = await listenTcp(t)
  const client = await tcpClient(t, transport.local.port)
  await until('the flow', () => transport.flows.size === 1)
  const closed = withTimeout(client, 'close')
  const first = transport.close()
  assert.equal(transport.close(), first)
  await first
  await closed
  assert.equal(transport.flows.size, 0)
  await assert.rejects(transport.sendTo(request(), HOST, 9), (err) => errorCode(err) === 'TRANSPORT_CLOSED')
})

// ---------------------------------------------------------------- WS

test('WS: a client offering the sip subprotocol exchanges messages, text or binary, without Content-Length', async (t) => {
  const origins: Array<string | undefined> = []
  const transport = await listenWs(t, {
    verifyClient: ({ origin }) => {
      origins.push(origin)
      return true
    }
  })
  assert.equal(transport.name, 'WS')
  assert.equal(transport.reliable, true)
  const seen = record(transport)
  const ws = await wsClient(t, transport.local.port)
  assert.equal(ws.protocol, 'sip')
  assert.deepEqual(origins, [undefined])

  const req = request('MESSAGE', 'hi there')
  const wire = req.serialize().toString().replace(/Content-Length: \d+\r\n/, '')
  ws.send(wire)
  ws.send(request('MESSAGE', 'binary').serialize(), { binary: true })
  await until('both messages', () => seen.messages.length === 2)
  const { message, source } = seen.messages[0] as { message: SipRequest; source: SipSource }
  assert.equal(message.body.toString(), 'hi there')
  assert.equal(seen.messages[1]?.message.body.toString(), 'binary')
  assert.equal(source.transport, 'WS')
  assert.equal(source.host, HOST)
  assert.equal(source.flow?.transport, 'WS')
  assert.equal(source.flow?.remotePort, source.port)

  const reply = withTimeout<[Buffer, boolean]>(ws, 'message')
  await transport.sendTo(createResponse(message, 200), source.host, source.port)
  const [data, isBinary] = await reply
  assert.equal(isBinary, false, 'UTF-8 messages go as text frames')
  assert.equal((parseSipMessage(data) as SipResponse).status, 200)
})

test('WS: a handshake without the sip subprotocol is refused; verifyClient can refuse too', async (t) => {
  const transport = await listenWs(t, { verifyClient: ({ origin }) => origin !== 'https://evil.example' })
  assert.equal(await refusedWith(transport.local.port, []), 400)
  assert.equal(await refusedWith(transport.local.port, ['chat']), 400)
  assert.equal(await refusedWith(transport.local.port, ['chat', 'sip']), 101)
  assert.equal(await refusedWith(transport.local.port, ['sip'], { Origin: 'https://evil.example' }), 403)
  assert.equal(await refusedWith(transport.local.port, ['sip'], { Origin: 'https://good.example' }), 101)
})

test('WS: a malformed message is reported and the connection stays open', async (t) => {
  const transport = await listenWs(t)
  const seen = record(transport)
  const ws = await wsClient(t, transport.local.port)
  ws.send('NOT SIP AT ALL')
  ws.send('\r\n\r\n')
  ws.send(request('MESSAGE', 'after').serialize().toString())
  await until('the good message', () => seen.messages.length === 1)
  assert.equal(seen.malformed.length, 1)
  assert.equal(seen.malformed[0]?.raw.toString(), 'NOT SIP AT ALL')
  assert.match(seen.malformed[0]?.reason ?? '', /no blank line/)
  assert.equal(ws.readyState, WebSocket.OPEN)
})

test('WS: a message over maxPayload closes that connection', async (t) => {
  const transport = await listenWs(t, { maxPayload: 1024 })
  const seen = record(transport)
  const ws = await wsClient(t, transport.local.port)
  const closed = withTimeout<[number]>(ws, 'close')
  ws.send(request('MESSAGE', 'x'.repeat(2000)).serialize().toString())
  assert.equal((await closed)[0], 1009)
  assert.equal(seen.messages.length, 0)
  await until('the flow to be forgotten', () => transport.flows.size === 0)
})

test('WS: sendTo an address with no connection fails with NO_FLOW; close is idempotent', async (t) => {
  const transport = await listenWs(t)
  await assert.rejects(transport.sendTo(request(), HOST, 5060), (err) => errorCode(err) === 'NO_FLOW')
  const ws = await wsClient(t, transport.local.port)
  await until('the flow', () => transport.flows.size === 1)
  const closed = withTimeout(ws, 'close')
  const first = transport.close()
  assert.equal(transport.close(), first)
  await first
  await closed
  assert.equal(transport.flows.size, 0)
  await assert.rejects(transport.sendTo(request(), HOST, 5060), (err) => errorCode(err) === 'TRANSPORT_CLOSED')
})

test('WS: a flood from one source is dropped, another source is still served', async (t) => {
  const transport = await listenWs(t, { rateLimit: { ratePerSecond: 1, burst: 5 } })
  const seen = record(transport)
  const flooder = await wsClient(t, transport.local.port)
  for (let i = 0; i < 20; i++) flooder.send(request('MESSAGE', `flood ${i}`).serialize().toString())
  await until('the flood to be counted', () => transport.rateLimiter.stats().dropped === 16)
  const other = new WebSocket(`ws://${HOST}:${transport.local.port}/`, ['sip'], { localAddress: OTHER_HOST })
  other.on('error', () => {})
  t.after(() => other.terminate())
  await withTimeout(other, 'open')
  other.send(request('MESSAGE', 'legit').serialize().toString())
  await until('the other source', () => seen.messages.some((m) => m.source.host === OTHER_HOST))
  assert.equal(seen.messages.filter((m) => m.source.host === HOST).length, 4)
})

// ---------------------------------------------------------------- rate limiter

test('rate limiter: a token bucket per source, refilled by the clock', () => {
  let now = 0
  const limiter = new SourceRateLimiter({ ratePerSecond: 2, burst: 3, now: () => now })
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.allow('10.0.0.1')), [true, true, true, false])
  assert.equal(limiter.allow('10.0.0.2'), true, 'another source has its own bucket')
  now += 500 // one token back
  assert.deepEqual([limiter.allow('10.0.0.1'), limiter.allow('10.0.0.1')], [true, false])
  // 10.0.0.2's bucket is full again, so there is nothing left to remember about it.
  assert.deepEqual(limiter.stats(), { allowed: 5, dropped: 2, sources: 1, evicted: 0 })
})

test('rate limiter: memory is bounded; refilled sources are forgotten', () => {
  let now = 0
  const limiter = new SourceRateLimiter({ ratePerSecond: 10, burst: 10, maxSources: 100, now: () => now })
  for (let i = 0; i < 1000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`)
  assert.equal(limiter.stats().sources, 100)
  assert.equal(limiter.stats().evicted, 900)
  now += 10_000 // every bucket full again
  for (let i = 0; i < 60; i++) limiter.allow('192.0.2.1')
  assert.ok(limiter.stats().sources <= 2, `idle sources forgotten, ${limiter.stats().sources} left`)
})

test('rate limiter: IPv6 sources are charged per /64, IPv4-mapped addresses as IPv4', () => {
  assert.equal(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:2:ffff::9'))
  assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'))
  assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7')
  assert.equal(sourceKey('::1'), '0:0:0:0::/64')
  const limiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 })
  assert.equal(limiter.allow('2001:db8::1'), true)
  assert.equal(limiter.allow('2001:db8::2'), false, 'same /64')
})
