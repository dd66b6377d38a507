import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request as httpRequest } from 'node:http'
import { WebSocket } from 'ws'
import { Lab } from '../helpers/overlay.js'
import { ApiService } from '../../app/api/api-service.js'
import { PeerSession } from '../../app/peer-session.js'
import { startWebServer, type WebServer } from '../../app/web/web-server.js'
import { silentLogger } from '../../app/log.js'
import { SipRequest, SipResponse, newBranch, newTag } from '../../app/sip/message.js'
import { parseSipMessage } from '../../app/sip/parser.js'
import type { Peer } from '../../app/peer.js'

let lab: Lab
let peer: Peer
let api: ApiService
let web: WebServer
let origin: string
let token: string
const APP_MARKER = '<div id="root" data-marker="parley-app"></div>'

before(async () => {
  lab = await Lab.create(6)
  const dataDir = await lab.tempDir()
  peer = await lab.peer('sip:alice@example.org', { dataDir, sip: { udp: 0, auth: 'off' } })
  api = await ApiService.open(PeerSession.running(peer, { dataDir }), dataDir, silentLogger())
  lab.onTeardown(() => api.close())
  const root = await lab.tempDir()
  await mkdir(join(root, 'assets'))
  await writeFile(join(root, 'index.html'), `<!doctype html>${APP_MARKER}`)
  await writeFile(join(root, 'assets', 'app.js'), 'console.log(1)')
  await writeFile(join(root, '..', 'secret.txt'), 'outside the root').catch(() => {})
  web = await startWebServer({ port: 0, api, sip: () => peer.sip, staticDir: root, log: silentLogger() })
  lab.onTeardown(() => web.close())
  const url = new URL(web.url)
  origin = url.origin
  token = new URLSearchParams(url.hash.slice(1)).get('token') ?? ''
})
after(() => lab.destroy())

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function http(method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function sessionCookie(): Promise<string> {
  const res = await http('POST', '/session', { Authorization: `Bearer ${token}`, Origin: origin })
  assert.equal(res.status, 204)
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? ''
  assert.match(cookie, /HttpOnly/)
  assert.match(cookie, /SameSite=Strict/)
  return cookie.split(';')[0] as string
}

function openSocket(path: string, headers: Record<string, string>, protocol?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}${path}`, protocol ? [protocol] : [], { headers })
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })))
    ws.once('error', reject)
  })
}

test('web mode prints a 127.0.0.1 URL with a token in the fragment', () => {
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{40,}$/)
})

test('without the token only the loader is served: no app, no assets', async () => {
  const loader = await http('GET', '/')
  assert.equal(loader.status, 200)
  assert.ok(!loader.body.includes(APP_MARKER), 'the loader holds nothing of the app')
  assert.match(String(loader.headers['content-security-policy']), /default-src 'none'/)
  for (const path of ['/app/', '/app/assets/app.js', '/app/index.html', '/api', '/anything']) {
    assert.equal((await http('GET', path)).status, 401, path)
  }
  assert.equal((await http('GET', '/app/', { Cookie: 'parley-session=wrong' })).status, 401)
  assert.equal((await http('GET', '/app/', { Authorization: 'Bearer wrong' })).status, 401)
})

test('the token is traded for an HttpOnly cookie only from our own origin', async () => {
  assert.equal((await http('POST', '/session', { Authorization: 'Bearer nope', Origin: origin })).status, 403)
  assert.equal((await http('POST', '/session', { Authorization: `Bearer ${token}`, Origin: 'http://evil.example' })).status, 403)
  const cookie = await sessionCookie()
  const app = await http('GET', '/app/', { Cookie: cookie })
  assert.equal(app.status, 200)
  assert.ok(app.body.includes(APP_MARKER))
  assert.match(String(app.headers['content-security-policy']), /script-src 'self'/)
  assert.equal((await http('GET', '/app/assets/app.js', { Cookie: cookie })).body, 'console.log(1)')
  // DNS rebinding: the right cookie but another Host is refused.
  assert.equal((await http('GET', '/app/', { Cookie: cookie, Host: 'evil.example' })).status, 421)
  // Nothing outside the built app, however the path is spelled.
  for (const path of ['/app/../secret.txt', '/app/%2e%2e/secret.txt', '/app/..%2fsecret.txt']) {
    const res = await http('GET', path, { Cookie: cookie })
    assert.ok(!res.body.includes('outside the root'), path)
  }
})

test('the API socket needs the cookie and our origin, and answers the contract', async () => {
  await assert.rejects(openSocket('/api', { Origin: origin }), { status: 401 })
  const cookie = await sessionCookie()
  await assert.rejects(openSocket('/api', { Origin: 'http://evil.example', Cookie: cookie }), { status: 403 })
  const ws = await openSocket('/api', { Origin: origin, Cookie: cookie })
  const replies: Array<Record<string, unknown>> = []
  ws.on('message', (d) => replies.push(JSON.parse(d.toString()) as Record<string, unknown>))
  const next = async (match: (m: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const found = replies.find(match)
      if (found) return found
      await new Promise((r) => setTimeout(r, 25))
    }
    throw new Error('no reply')
  }
  ws.send(JSON.stringify({ id: 1, method: 'identity.get' }))
  const identity = await next((m) => m.id === 1)
  assert.equal(identity.ok, true)
  assert.equal((identity.result as { aor: string }).aor, 'sip:alice@example.org')

  ws.send(JSON.stringify({ id: 2, method: 'messages.send', params: { to: 'sip:bob@example.org', text: 42 } }))
  const bad = await next((m) => m.id === 2)
  assert.equal(bad.ok, false)
  assert.match((bad.error as { message: string }).message, /text/)

  ws.send('{"id":3,"method":"presence.set","params":{"status":"sleeping"}}')
  assert.match(((await next((m) => m.id === 3)).error as { message: string }).message, /status/)
  ws.send('not json')
  assert.equal(((await next((m) => m.id === null)).error as { code: string }).code, 'BAD_REQUEST')

  ws.send(JSON.stringify({ id: 4, method: 'settings.set', params: { theme: 'dark' } }))
  const event = await next((m) => m.event === 'settings')
  assert.equal((event.data as { theme: string }).theme, 'dark')
  ws.close()
})

test('the SIP socket binds the own AOR without credentials; plain SIP may not', async () => {
  await assert.rejects(openSocket('/sip', { Origin: origin }, 'sip'), { status: 401 })
  const cookie = await sessionCookie()
  const ws = await openSocket('/sip', { Origin: origin, Cookie: cookie }, 'sip')
  const register = new SipRequest('REGISTER', 'sip:example.org')
  register.append('Via', `SIP/2.0/WS df7jal23ls0d.invalid;branch=${newBranch()}`)
  register.append('Max-Forwards', '70')
  register.append('From', `<sip:alice@example.org>;tag=${newTag()}`)
  register.append('To', '<sip:alice@example.org>')
  register.append('Call-ID', `${newTag()}@web`)
  register.append('CSeq', '1 REGISTER')
  register.append('Contact', '<sip:ui@df7jal23ls0d.invalid;transport=ws>')
  register.append('Expires', '600')
  const answered = new Promise<number>((resolve) => ws.once('message', (d) => resolve((parseSipMessage(Buffer.from(d as Buffer)) as SipResponse).status)))
  ws.send(register.serialize())
  assert.equal(await answered, 200)
  assert.equal(peer.sip.bindings.lookup(peer.aor).length, 1)
  ws.close()

  // The same REGISTER from a phone on the UDP transport is refused: only the UI binds the own AOR.
  const { UdpEndpoint } = await import('../helpers/udp-endpoint.js')
  const phone = await UdpEndpoint.open()
  lab.onTeardown(async () => phone.close())
  const udp = peer.sip.transports.find((t) => t.name === 'UDP')!
  const viaReg = new SipRequest('REGISTER', 'sip:example.org')
  viaReg.headers = register.headers.map((h) => ({ ...h }))
  viaReg.set('Via', `SIP/2.0/UDP 127.0.0.1:${phone.port};branch=${newBranch()};rport`)
  viaReg.set('Call-ID', `${newTag()}@phone`)
  await phone.send(viaReg.serialize(), udp.local.port)
  const res = (await phone.next((m) => m instanceof SipResponse && m.get('Call-ID') === viaReg.get('Call-ID'))) as SipResponse
  assert.equal(res.status, 403)
})
