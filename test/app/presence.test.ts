import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Lab } from '../helpers/overlay.js'
import { TestUa } from '../helpers/sip-ua.js'
import { SipRequest, SipResponse, createResponse, type SipMessage } from '../../app/sip/message.js'
import { parseNameAddr } from '../../app/sip/header-values.js'
import { parseUri } from '../../app/sip/uri.js'
import { canonicalAor } from '../../app/identity/aor.js'
import { encodePidf, parsePidf } from '../../app/presence/pidf.js'
import type { Peer } from '../../app/peer.js'
import type { PresenceStatus } from '../../app/api/contract.js'

let lab: Lab
const uas: TestUa[] = []
const fast = { watcher: { retryMinMs: 200, retryMaxMs: 1_000 } }
const udpPort = (p: Peer) => p.status().sip.transports.find((t) => t.transport === 'UDP')?.port ?? 0

before(async () => {
  lab = await Lab.create(10)
})
after(async () => {
  for (const u of uas) u.close()
  await lab.destroy()
})

/** Resolves once `watcher` shows `aor` with `status` (now or on a later `presence` event). */
function seen(watcher: Peer, aor: string, status: PresenceStatus): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (watcher.presence.buddyPresence(aor)?.status !== status) return
      watcher.presence.off('presence', check)
      resolve()
    }
    watcher.presence.on('presence', check)
    check()
  })
}

/** Resolves once `cond()` holds (polled; the test timeout bounds the wait). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20))
}

async function ua(aor: string, peer: Peer): Promise<TestUa> {
  const u = await TestUa.open(aor, udpPort(peer))
  uas.push(u)
  return u
}

/** The next request at `u` matching `match` that this test has not taken yet. */
const taken = new WeakSet<SipMessage>()
async function nextRequest(u: TestUa, match: (r: SipRequest) => boolean): Promise<SipRequest> {
  const m = (await u.endpoint.next((x) => x instanceof SipRequest && !taken.has(x) && match(x))) as SipRequest
  taken.add(m)
  return m
}

/** Send a response the way a UAS does: Record-Route copied, our tag on To. */
async function answer(u: TestUa, req: SipRequest, status: number, headers: Array<[string, string]> = [], toTag?: string): Promise<void> {
  const res = createResponse(req, status)
  if (toTag) res.set('To', `${req.get('To')};tag=${toTag}`)
  for (const rr of req.getAll('Record-Route')) res.append('Record-Route', rr)
  for (const [n, v] of headers) res.append(n, v)
  await u.endpoint.send(res.serialize(), u.proxyPort)
}

test('a buddy on another peer: available, away, busy, offline at graceful close, back after a restart', async () => {
  const alice = await lab.peer('sip:alice@presence.test', { presence: fast })
  const bobDir = await lab.tempDir()
  const bob = await lab.peer('sip:bob@presence.test', { dataDir: bobDir })
  assert.deepEqual(bob.presence.own(), { status: 'available', note: null })

  alice.presence.watch('sip:bob@presence.test')
  await seen(alice, 'sip:bob@presence.test', 'available')
  assert.equal(bob.presence.watchers, 1)

  await bob.presence.setOwn('away', 'back soon')
  await seen(alice, 'sip:bob@presence.test', 'away')
  assert.equal(alice.presence.buddyPresence('sip:bob@presence.test')?.note, 'back soon')
  await bob.presence.setOwn('busy', null)
  await seen(alice, 'sip:bob@presence.test', 'busy')
  assert.equal(alice.presence.buddyPresence('sip:bob@presence.test')?.note, null)

  await bob.close()
  // The final NOTIFY (terminated;reason=deactivated) was answered before close() returned.
  assert.equal(alice.presence.buddyPresence('sip:bob@presence.test')?.status, 'offline')

  // Same data dir: same key and the saved status, announced again; the watcher's retry finds it.
  const again = await lab.peer('sip:bob@presence.test', { dataDir: bobDir })
  assert.equal(again.presence.own().status, 'busy')
  await seen(alice, 'sip:bob@presence.test', 'busy')
  assert.ok(alice.presence.buddyPresence('sip:bob@presence.test')?.updatedAt)
})

test('a crashed buddy (no goodbye) shows offline once its stream is gone', async () => {
  const alice = await lab.peer('sip:alice-c@presence.test', { presence: fast })
  const carol = await lab.peer('sip:carol-c@presence.test')
  alice.presence.watch('sip:carol-c@presence.test')
  await seen(alice, 'sip:carol-c@presence.test', 'available')
  // A crash: the DHT node and its streams vanish without unannouncing or a final NOTIFY.
  await carol.overlay.dht.destroy({ force: true })
  carol.connections.closeAll()
  await seen(alice, 'sip:carol-c@presence.test', 'offline')
})

test('a phone at a gateway subscribes to a peer user through its peer, and a peer user watches the phone', async () => {
  const gateway = await lab.peer('sip:gw-owner@presence.test', { sip: { udp: 0, auth: 'off', dns: false, domains: ['phones.test'] } })
  const dave = await lab.peer('sip:dave@presence.test')
  const phone = await ua('sip:phone@phones.test', gateway)
  assert.equal((await phone.register()).status, 200)
  await gateway.overlaySettled()

  // The phone watches dave: 200 with Expires and dave's peer contact, then NOTIFY with PIDF.
  const sub = phone.request('SUBSCRIBE', 'sip:dave@presence.test', {
    callId: 'watch-dave@test',
    headers: [['Event', 'presence'], ['Accept', 'application/pidf+xml'], ['Expires', '600']]
  })
  const ok = await phone.send(sub)
  assert.equal(ok.status, 200)
  assert.equal(ok.get('Expires'), '600')
  const daveContact = parseNameAddr(ok.get('Contact') ?? '')?.uri ?? ''
  assert.match(daveContact, /^sip:dave@[a-z0-9]+\.parley\.invalid$/)
  const first = await nextRequest(phone, (r) => r.method === 'NOTIFY' && r.callId === 'watch-dave@test')
  assert.match(first.get('Subscription-State') ?? '', /^active;expires=\d+$/)
  assert.equal(first.get('Event'), 'presence')
  assert.equal(first.get('Content-Type'), 'application/pidf+xml')
  assert.deepEqual(parsePidf(first.body), { ok: true, presence: { status: 'available', note: null } })
  await phone.reply(first, 200)

  await dave.presence.setOwn('away')
  const second = await nextRequest(phone, (r) => r.method === 'NOTIFY' && r.callId === 'watch-dave@test')
  assert.ok((second.cseq?.seq ?? 0) > (first.cseq?.seq ?? 0))
  assert.deepEqual(parsePidf(second.body), { ok: true, presence: { status: 'away', note: null } })
  await phone.reply(second, 200)

  // Unsubscribe in the dialog: route set from Record-Route reversed, to dave's contact.
  const routes = ok.getAll('Record-Route').reverse().map((r) => ['Route', r] as [string, string])
  const unsub = phone.request('SUBSCRIBE', daveContact, { callId: 'watch-dave@test', to: ok.get('To') ?? '', headers: [...routes, ['Event', 'presence'], ['Expires', '0']] })
  assert.equal((await phone.send(unsub)).status, 200)
  const last = await nextRequest(phone, (r) => r.method === 'NOTIFY' && r.callId === 'watch-dave@test')
  assert.match(last.get('Subscription-State') ?? '', /^terminated/)
  await phone.reply(last, 200)
  await until(() => dave.presence.watchers === 0)

  // Dave watches the phone: the phone answers 200 and NOTIFYs like a standard UA.
  dave.presence.watch('sip:phone@phones.test')
  const incoming = await nextRequest(phone, (r) => r.method === 'SUBSCRIBE')
  assert.equal(incoming.get('Event'), 'presence')
  assert.equal(incoming.get('Expires'), '600')
  const phoneTag = 'phone-tag-1'
  await answer(phone, incoming, 200, [['Contact', `<${phone.contact}>`], ['Expires', '600']], phoneTag)
  const notify = (cseq: number, body: string | null, headers: Array<[string, string]> = []) => {
    const n = phone.request('NOTIFY', parseNameAddr(incoming.get('Contact') ?? '')?.uri ?? '', {
      callId: incoming.callId,
      cseq,
      to: incoming.get('From') ?? '',
      headers: [...incoming.getAll('Record-Route').map((r) => ['Route', r] as [string, string]), ['Event', 'presence'], ...headers]
    })
    n.set('From', `<sip:phone@phones.test>;tag=${phoneTag}`)
    if (body !== null) n.body = Buffer.from(body)
    return phone.send(n)
  }
  const onThePhone = encodePidf('sip:phone@phones.test', { status: 'busy', note: null }).replace('<rpid:busy/>', '<rpid:on-the-phone/>')
  const pidf: Array<[string, string]> = [['Subscription-State', 'active;expires=600'], ['Content-Type', 'application/pidf+xml']]
  assert.equal((await notify(1, onThePhone, pidf)).status, 200)
  await seen(dave, 'sip:phone@phones.test', 'busy')

  // Malformed NOTIFYs in the dialog get the right codes and change nothing.
  assert.equal((await notify(2, 'not xml', pidf)).status, 400)
  assert.equal((await notify(3, onThePhone, [['Subscription-State', 'active'], ['Content-Type', 'text/plain']])).status, 415)
  assert.equal((await notify(4, onThePhone, [['Content-Type', 'application/pidf+xml']])).status, 400)
  assert.equal(dave.presence.buddyPresence('sip:phone@phones.test')?.status, 'busy')
  assert.equal((await notify(5, encodePidf('sip:phone@phones.test', { status: 'available', note: 'free' }), pidf)).status, 200)
  await seen(dave, 'sip:phone@phones.test', 'available')

  // The phone ends the subscription: dave shows it offline (and will retry).
  assert.equal((await notify(6, encodePidf('sip:phone@phones.test', { status: 'offline', note: null }), [['Subscription-State', 'terminated;reason=rejected'], ['Content-Type', 'application/pidf+xml']])).status, 200)
  await seen(dave, 'sip:phone@phones.test', 'offline')
  await dave.presence.unwatch('sip:phone@phones.test')
})

test('malformed SUBSCRIBE and NOTIFY get the right codes; expiry, 481 and bounds hold', async () => {
  const gateway = await lab.peer('sip:gw2-owner@presence.test', { sip: { udp: 0, auth: 'off', dns: false, domains: ['phones.test'] } })
  const erin = await lab.peer('sip:erin@presence.test', { presence: { agent: { minExpiresS: 2, maxPerWatcher: 3 } } })
  const phone = await ua('sip:phone2@phones.test', gateway)
  assert.equal((await phone.register()).status, 200)
  const subscribe = (headers: Array<[string, string]>, opts: { uri?: string; to?: string; callId?: string } = {}) =>
    phone.send(phone.request('SUBSCRIBE', opts.uri ?? 'sip:erin@presence.test', { headers, to: opts.to, callId: opts.callId ?? `c${Math.random()}@test` }))

  assert.equal((await subscribe([['Expires', '600']])).status, 400, 'no Event')
  const bad = await subscribe([['Event', 'dialog'], ['Expires', '600']])
  assert.equal(bad.status, 489)
  assert.equal(bad.get('Allow-Events'), 'presence')
  assert.equal((await subscribe([['Event', 'presence'], ['Expires', 'soon']])).status, 400, 'bad Expires')
  const brief = await subscribe([['Event', 'presence'], ['Expires', '1']])
  assert.equal(brief.status, 423)
  assert.equal(brief.get('Min-Expires'), '2')
  assert.equal((await subscribe([['Event', 'presence'], ['Accept', 'text/plain']])).status, 406)
  const long = await subscribe([['Event', 'presence'], ['Expires', '999999']])
  assert.equal(long.get('Expires'), '3600', 'clamped to the maximum')
  const noExpires = await subscribe([['Event', 'presence']])
  assert.equal(noExpires.get('Expires'), '3600', 'RFC 3856 default')
  const contact = parseNameAddr(long.get('Contact') ?? '')?.uri ?? ''
  const stale = await subscribe([['Event', 'presence'], ['Expires', '600']], { uri: contact, to: '<sip:erin@presence.test>;tag=nope' })
  assert.equal(stale.status, 481, 'unknown dialog')
  const notify = phone.request('NOTIFY', contact, { to: '<sip:erin@presence.test>;tag=nope', headers: [['Event', 'presence'], ['Subscription-State', 'active']] })
  assert.equal((await phone.send(notify)).status, 481, 'NOTIFY outside any dialog')

  // Per-watcher bound: the oldest of this watcher's dialogs makes room (three held at most, plus none from others).
  await until(() => erin.presence.watchers <= 3)
  for (let i = 0; i < 5; i++) assert.equal((await subscribe([['Event', 'presence'], ['Expires', '600']])).status, 200)
  assert.equal(erin.presence.watchers, 3)

  // A NOTIFY answered 481 drops the subscription.
  const count = erin.presence.watchers
  const doomed = await subscribe([['Event', 'presence'], ['Expires', '600']], { callId: 'doomed@test' })
  assert.equal(doomed.status, 200)
  const n = await nextRequest(phone, (r) => r.method === 'NOTIFY' && r.callId === 'doomed@test')
  await phone.reply(n, 481)
  await until(() => erin.presence.watchers < count)

  // Expiry without refresh: a final NOTIFY terminated;reason=timeout.
  const short = await subscribe([['Event', 'presence'], ['Expires', '2']], { callId: 'short@test' })
  assert.equal(short.get('Expires'), '2')
  const expired = await nextRequest(phone, (r) => r.method === 'NOTIFY' && r.callId === 'short@test' && /^terminated/.test(r.get('Subscription-State') ?? ''))
  assert.equal(expired.get('Subscription-State'), 'terminated;reason=timeout')

  // Still working: a good SUBSCRIBE gets 200 and a NOTIFY.
  const good = await subscribe([['Event', 'presence'], ['Expires', '600']], { callId: 'after@test' })
  assert.equal(good.status, 200)
  const fresh = await nextRequest(phone, (r) => r.method === 'NOTIFY' && r.callId === 'after@test')
  assert.equal(parsePidf(fresh.body).ok, true)
})

test('requests to the own AOR: presence and chat stay with the peer even when its UI registered the AOR', async () => {
  const frank = await lab.peer('sip:frank@presence.test', { sip: { udp: 0, auth: 'off', dns: false } })
  const ui = await ua('sip:frank@presence.test', frank)
  // The UI's registration of the own AOR (it arrives on the UI's own socket in the app).
  const udp = frank.sip.transports.find((t) => t.name === 'UDP')
  assert.ok(udp)
  const contactUri = parseUri(ui.contact)
  assert.ok(contactUri)
  frank.sip.bindings.put({
    aor: canonicalAor('sip:frank@presence.test'), contact: ui.contact, contactUri, q: null, expiresAt: Date.now() + 600_000,
    callId: 'ui@test', cseq: 1, path: { kind: 'address', transport: udp, host: '127.0.0.1', port: ui.endpoint.port }
  })
  const other = await ua('sip:someone@phones.test', frank)
  const res = await other.send(other.request('SUBSCRIBE', 'sip:frank@presence.test', { headers: [['Event', 'presence']] }))
  assert.equal(res.status, 200)
  assert.match(parseNameAddr(res.get('Contact') ?? '')?.uri ?? '', /\.parley\.invalid$/)
  assert.equal(ui.endpoint.received.filter((m) => m instanceof SipRequest && m.method === 'SUBSCRIBE').length, 0)
  // INVITE still goes to the registered UI.
  const invite = other.send(other.request('INVITE', 'sip:frank@presence.test', { callId: 'call@test' }), 180)
  const atUi = await ui.incoming('INVITE')
  await ui.reply(atUi, 180)
  assert.ok((await invite) instanceof SipResponse)

  // Busy is do-not-disturb: calls get 486 from the peer and the UI never rings.
  await frank.presence.setOwn('busy')
  const invitesAtUi = ui.endpoint.received.filter((m) => m instanceof SipRequest && m.method === 'INVITE').length
  const refused = await other.send(other.request('INVITE', 'sip:frank@presence.test', { callId: 'dnd@test' }))
  assert.equal(refused.status, 486)
  assert.equal(ui.endpoint.received.filter((m) => m instanceof SipRequest && m.method === 'INVITE').length, invitesAtUi)
  await frank.presence.setOwn('available')
})
