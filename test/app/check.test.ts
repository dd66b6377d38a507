import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CliProcess, runCli } from '../helpers/cli.js'
import { Lab } from '../helpers/overlay.js'
import { TestUa } from '../helpers/sip-ua.js'
import { createResponse, type SipRequest } from '../../app/sip/message.js'
import { parseSipMessage } from '../../app/sip/parser.js'

const HEALTH_TYPE = 'application/vnd.parley.health+json'
const NAGIOS_LINE = /^PARLEY (OK|WARNING|CRITICAL|UNKNOWN) - [^\n]+\n?$/

let lab: Lab

before(async () => {
  lab = await Lab.create(6)
})

after(async () => {
  await lab.destroy()
})

/** `parley check …` as the real CLI: exit code and its one output line. */
async function check(...args: string[]): Promise<{ code: number; line: string; stderr: string }> {
  const r = await runCli(['check', ...args])
  assert.match(r.stdout, NAGIOS_LINE, `one Nagios line, got stdout ${JSON.stringify(r.stdout)} stderr ${JSON.stringify(r.stderr)}`)
  return { code: r.code, line: r.stdout.trim(), stderr: r.stderr }
}

/** A UDP socket on 127.0.0.1 answering each datagram with `reply(data)` (nothing when it returns null). */
async function udpServer(reply: (data: Buffer) => Buffer | string | null, delayMs = 0): Promise<Socket> {
  const socket = createSocket('udp4')
  socket.on('message', (data, rinfo) => {
    const out = reply(data)
    if (out !== null) setTimeout(() => socket.send(out, rinfo.port, rinfo.address), delayMs)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  lab.onTeardown(async () => void socket.close())
  return socket
}

/** A minimal SIP server over UDP: answers every request with `status` and optional extras. */
function sipUdpServer(status: number, opts: { body?: string; contentType?: string; delayMs?: number } = {}): Promise<Socket> {
  return udpServer((data) => {
    const req = parseSipMessage(data) as SipRequest
    const res = createResponse(req, status)
    if (opts.body !== undefined) {
      res.append('Content-Type', opts.contentType ?? HEALTH_TYPE)
      res.body = Buffer.from(opts.body)
    }
    return res.serialize()
  }, opts.delayMs)
}

async function tcpServer(onConnection: Parameters<typeof createTcpServer>[1]): Promise<TcpServer> {
  const server = createTcpServer(onConnection)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  lab.onTeardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return server
}

const portOf = (s: Socket | TcpServer) => (s.address() as AddressInfo).port

/** A port on 127.0.0.1 that nobody listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()))
  const port = portOf(s)
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

test('OPTIONS to the peer itself is answered 200 with its health as JSON; OPTIONS to its user is not', async () => {
  const peer = await lab.peer('sip:owner@health.test', { sip: { udp: 0, auth: 'off', dns: false } })
  const udp = peer.sip.transports.find((t) => t.name === 'UDP')!
  const phone = await TestUa.open('sip:desk@health.test', udp.local.port)
  try {
    assert.equal((await phone.register()).status, 200)
    const res = await phone.send(phone.request('OPTIONS', `sip:127.0.0.1:${udp.local.port}`))
    assert.equal(res.status, 200)
    assert.equal(res.get('Content-Type'), HEALTH_TYPE)
    assert.match(res.get('Allow') ?? '', /OPTIONS/)
    const health = JSON.parse(res.body.toString('utf8'))
    assert.deepEqual(Object.keys(health).sort(), ['af', 'registrations', 'role', 'uptimeS'])
    assert.equal(health.role, 'client')
    assert.equal(health.registrations, 1)
    assert.ok(health.af >= 0 && health.af <= 1, `af ${health.af}`)
    assert.ok(Number.isInteger(health.uptimeS) && health.uptimeS >= 0)
    assert.equal(Number(res.get('Content-Length')), res.body.length)

    // The user's own OPTIONS (to sip:owner@…) is the user agent's answer, not the element's health.
    const user = await phone.send(phone.request('OPTIONS', `sip:owner@health.test`))
    assert.equal(user.status, 200)
    assert.notEqual(user.get('Content-Type'), HEALTH_TYPE)
  } finally {
    phone.close()
  }
})

test('parley check against a running peer: 0 with perfdata over UDP and TCP; 2 once the peer is stopped', async () => {
  const dir = await lab.tempDir()
  const proc = CliProcess.start([
    'serve', '--data-dir', dir, '--aor', 'sip:owner@check.test', '--bootstrap', lab.bootstrap.join(','), '--dht-host', '127.0.0.1',
    '--sip-udp', '0', '--sip-tcp', '0', '--sip-auth', 'off', '--sip-dns', 'off'
  ])
  lab.onTeardown(async () => void (await proc.stop()))
  const ready = await proc.waitFor((l) => l.event === 'ready', 'ready')
  const ports = Object.fromEntries((ready.sip as Array<{ transport: string; port: number }>).map((t) => [t.transport, t.port]))
  assert.ok(ports.UDP && ports.TCP, JSON.stringify(ready.sip))

  const phone = await TestUa.open('sip:desk@check.test', ports.UDP)
  try {
    assert.equal((await phone.register()).status, 200)
  } finally {
    phone.close()
  }

  const udp = await check(`127.0.0.1:${ports.UDP}`)
  assert.equal(udp.code, 0, udp.line)
  assert.match(udp.line, /^PARLEY OK - 200 OK in \d+ ms, client, 1 registration \| /)
  assert.match(udp.line, /\| time=\d+\.\d{3}s;0\.500;2\.000;0 registrations=1;;;0 af=\d\.\d+;0\.6;;0;1 uptime=\d+s;;;0$/)

  const tcp = await check(`127.0.0.1:${ports.TCP}`, '--transport', 'tcp', '--warning', '800', '--critical', '1500', '--timeout', '3000')
  assert.equal(tcp.code, 0, tcp.line)
  assert.match(tcp.line, /time=\d+\.\d{3}s;0\.800;1\.500;0 registrations=1;;;0 af=/)

  // A response time over --warning is a WARNING (0 ms cannot be beaten).
  const slow = await check(`127.0.0.1:${ports.UDP}`, '--warning', '0')
  assert.equal(slow.code, 1, slow.line)
  assert.match(slow.line, /^PARLEY WARNING - .*> 0 ms/)

  assert.equal(await proc.stop('SIGTERM'), 0)
  const stoppedUdp = await check(`127.0.0.1:${ports.UDP}`, '--timeout', '1000')
  assert.equal(stoppedUdp.code, 2, stoppedUdp.line)
  assert.match(stoppedUdp.line, /^PARLEY CRITICAL - .*(refused|no answer)/)
  const stoppedTcp = await check(`127.0.0.1:${ports.TCP}`, '--transport', 'tcp')
  assert.equal(stoppedTcp.code, 2, stoppedTcp.line)
  assert.match(stoppedTcp.line, /^PARLEY CRITICAL - .*refused/)
})

test('a port nobody listens on is CRITICAL: refused over UDP and TCP, silence is a timeout', async () => {
  const port = await deadPort()
  const udp = await check(`127.0.0.1:${port}`, '--timeout', '1500')
  assert.equal(udp.code, 2, udp.line)
  assert.match(udp.line, /^PARLEY CRITICAL - connection refused by 127\.0\.0\.1:\d+\/udp/)

  const tcp = await check(`127.0.0.1:${port}`, '--transport', 'tcp')
  assert.equal(tcp.code, 2, tcp.line)
  assert.match(tcp.line, /^PARLEY CRITICAL - connection refused by 127\.0\.0\.1:\d+\/tcp/)

  const silent = await udpServer(() => null)
  const quiet = await check(`127.0.0.1:${portOf(silent)}`, '--timeout', '300')
  assert.equal(quiet.code, 2, quiet.line)
  assert.match(quiet.line, /^PARLEY CRITICAL - no answer from 127\.0\.0\.1:\d+\/udp within 300 ms/)
})

test('a port that answers something other than SIP is UNKNOWN with a clear message', async () => {
  const garbage = await udpServer(() => 'hello, I am a game server\n')
  const r1 = await check(`127.0.0.1:${portOf(garbage)}`)
  assert.equal(r1.code, 3, r1.line)
  assert.match(r1.line, /^PARLEY UNKNOWN - 127\.0\.0\.1:\d+ answered something that is not SIP/)

  const tcpGarbage = await tcpServer((socket) => socket.once('data', () => socket.write('SSH-2.0-OpenSSH_9.6\r\n')))
  const r2 = await check(`127.0.0.1:${portOf(tcpGarbage)}`, '--transport', 'tcp')
  assert.equal(r2.code, 3, r2.line)
  assert.match(r2.line, /answered something that is not SIP/)

  const http = createHttpServer((_req, res) => res.end('hi'))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
  lab.onTeardown(() => new Promise<void>((resolve) => http.close(() => resolve())))
  const r3 = await check(`127.0.0.1:${(http.address() as AddressInfo).port}`, '--transport', 'tcp')
  assert.equal(r3.code, 3, r3.line)
  assert.match(r3.line, /answered something that is not SIP/)
})

test('other SIP servers: a plain 200 is OK with time only, 503 is CRITICAL, a stepping-down peer or high af is a WARNING', async () => {
  const plain = await sipUdpServer(200)
  const ok = await check(`127.0.0.1:${portOf(plain)}`)
  assert.equal(ok.code, 0, ok.line)
  assert.match(ok.line, /^PARLEY OK - 200 OK in \d+ ms \| time=\d+\.\d{3}s;0\.500;2\.000;0$/)

  const busy = await sipUdpServer(503)
  const down = await check(`127.0.0.1:${portOf(busy)}`)
  assert.equal(down.code, 2, down.line)
  assert.match(down.line, /^PARLEY CRITICAL - 503 Service Unavailable in \d+ ms/)

  const leaving = await sipUdpServer(200, { body: JSON.stringify({ role: 'stepping-down', registrations: 2, af: 0.2, uptimeS: 50 }) })
  const w1 = await check(`127.0.0.1:${portOf(leaving)}`)
  assert.equal(w1.code, 1, w1.line)
  assert.match(w1.line, /^PARLEY WARNING - .*stepping-down, 2 registrations.*\| .*registrations=2;;;0 af=0\.20;0\.6;;0;1/)

  const annoyed = await sipUdpServer(200, { body: JSON.stringify({ role: 'super-node', registrations: 0, af: 0.75, uptimeS: 50 }) })
  const w2 = await check(`127.0.0.1:${portOf(annoyed)}`)
  assert.equal(w2.code, 1, w2.line)
  assert.match(w2.line, /^PARLEY WARNING - .*af 0\.75 > 0\.6/)

  const late = await sipUdpServer(200, { delayMs: 400 })
  const slow = await check(`127.0.0.1:${portOf(late)}`, '--warning', '100', '--critical', '300', '--timeout', '2000')
  assert.equal(slow.code, 2, slow.line)
  assert.match(slow.line, /^PARLEY CRITICAL - 200 OK in \d+ ms > 300 ms/)
})

test('bad arguments are UNKNOWN (3) with the reason on the line', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /HOST\[:PORT\] is required/],
    [['127.0.0.1', 'extra'], /one HOST\[:PORT\]/],
    [['127.0.0.1:99999'], /port/],
    [['127.0.0.1', '--transport', 'sctp'], /--transport must be udp or tcp/],
    [['127.0.0.1', '--timeout', 'soon'], /--timeout must be an integer/],
    [['127.0.0.1', '--warning', '900', '--critical', '500'], /--warning .* --critical/],
    [['127.0.0.1', '--wat'], /Unknown option '--wat'/]
  ]
  for (const [args, message] of cases) {
    const r = await check(...args)
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.line}`)
    assert.match(r.line, /^PARLEY UNKNOWN - /)
    assert.match(r.line, message)
  }
})
