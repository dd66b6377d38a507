import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { DigestAuthenticator, digestResponse, ha1, parseDigestCredentials, type DigestAlgorithm, type Ha1Lookup } from '../../app/sip/digest-auth.js'
import { SipRequest, createResponse } from '../../app/sip/message.js'

const REALM = 'example.org'
const PASSWORDS: Record<string, string> = { alice: 'correct horse', 'b"ob\\': 'p@ss:word' }

/** The server's view: HA1 from the (user, realm) password table. */
const lookup: Ha1Lookup = (username, realm, algorithm) => {
  const password = PASSWORDS[username]
  return password === undefined || realm !== REALM ? undefined : ha1(algorithm, username, realm, password)
}

/**
 * A UAC written from RFC 7616 §3.4 alone (not with the module under test):
 * parses one challenge and answers it.
 */
function clientAnswer(
  challenge: string,
  opts: { username: string; password: string; method: string; uri: string; qop?: boolean; realm?: string }
): string {
  const param = (name: string) => new RegExp(`(?:^|[ ,])${name}=("([^"]*)"|[^, ]+)`, 'i').exec(challenge.replace(/^Digest /, ' '))
  const value = (name: string) => {
    const m = param(name)
    return m ? (m[2] ?? m[1]) : undefined
  }
  const algorithm = value('algorithm') ?? 'MD5'
  const h = (s: string) => createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5').update(s).digest('hex')
  const realm = opts.realm ?? (value('realm') as string)
  const nonce = value('nonce') as string
  const a1 = h(`${opts.username}:${realm}:${opts.password}`)
  const a2 = h(`${opts.method}:${opts.uri}`)
  const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"`
  const common = `username=${q(opts.username)}, realm=${q(realm)}, nonce=${q(nonce)}, uri=${q(opts.uri)}, algorithm=${algorithm}`
  if (opts.qop === false) return `Digest ${common}, response="${h(`${a1}:${nonce}:${a2}`)}"`
  const cnonce = randomBytes(8).toString('hex')
  return `Digest ${common}, qop=auth, nc=00000001, cnonce="${cnonce}", response="${h(`${a1}:${nonce}:00000001:${cnonce}:auth:${a2}`)}"`
}

function clock(start = 1_700_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

test('RFC 7616 §3.9.1 known answers for MD5 and SHA-256', () => {
  // Mufasa / "Circle of Life" / http-auth@example.org, GET /dir/index.html.
  const common = {
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    qop: 'auth' as const,
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ'
  }
  const expected: Record<DigestAlgorithm, string> = {
    MD5: '8ca523f5e9506fed4657c9700eebdbec',
    'SHA-256': '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'
  }
  for (const algorithm of ['MD5', 'SHA-256'] as const) {
    const h = ha1(algorithm, 'Mufasa', 'http-auth@example.org', 'Circle of Life')
    assert.equal(digestResponse({ ...common, algorithm, ha1: h }), expected[algorithm], algorithm)

    // The RFC's Authorization header verifies: the digest is right, so only the
    // (foreign) nonce is refused, with stale — the client knows the password.
    const auth = new DigestAuthenticator({ realm: 'http-auth@example.org' })
    const header =
      `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=${algorithm}, ` +
      `nonce="${common.nonce}", nc=00000001, cnonce="${common.cnonce}", qop=auth, response="${expected[algorithm]}", ` +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    const mufasa: Ha1Lookup = (u, r, a) => (u === 'Mufasa' ? ha1(a, u, r, 'Circle of Life') : undefined)
    assert.deepEqual(auth.verify({ method: 'GET', authorization: header }, mufasa), { ok: false, reason: 'stale' })
    const tampered = header.replace(expected[algorithm], expected[algorithm].replace(/^./, (c) => (c === '0' ? '1' : '0')))
    assert.deepEqual(auth.verify({ method: 'GET', authorization: tampered }, mufasa), { ok: false, reason: 'bad-response' })
  }
})

test('challenges offer SHA-256 first, then MD5, with one fresh nonce and qop=auth', () => {
  const auth = new DigestAuthenticator({ realm: 'say "hi" \\ realm' })
  const values = auth.challenge()
  assert.equal(values.length, 2)
  assert.match(values[0] as string, /^Digest realm="say \\"hi\\" \\\\ realm", nonce="[A-Za-z0-9_-]{54}", algorithm=SHA-256, qop="auth"$/)
  assert.match(values[1] as string, /algorithm=MD5, qop="auth"$/)
  assert.ok(values.every((v) => !/stale/.test(v)))
  assert.ok(auth.challenge({ stale: true }).every((v) => v.endsWith(', stale=true')))
  assert.deepEqual(new DigestAuthenticator({ realm: 'r', algorithms: ['MD5', 'SHA-256'] }).challenge().map((v) => /algorithm=([\w-]+)/.exec(v)?.[1]), ['MD5', 'SHA-256'])
})

test('a real client computation verifies for MD5 and SHA-256, with qop=auth and without qop', () => {
  const auth = new DigestAuthenticator({ realm: REALM })
  const [sha256, md5] = auth.challenge()
  for (const challenge of [sha256 as string, md5 as string]) {
    for (const qop of [true, false]) {
      for (const username of Object.keys(PASSWORDS)) {
        const header = clientAnswer(challenge, { username, password: PASSWORDS[username] as string, method: 'REGISTER', uri: 'sip:example.org', qop })
        const verdict = auth.verify({ method: 'REGISTER', authorization: header }, lookup)
        const algorithm = /algorithm=([\w-]+)/.exec(challenge)?.[1]
        assert.deepEqual(verdict, { ok: true, username, algorithm }, `${algorithm} qop=${qop} ${username}`)
        // The same credentials do not authorise another method (A2 covers it).
        assert.deepEqual(auth.verify({ method: 'INVITE', authorization: header }, lookup), { ok: false, reason: 'bad-response' })
      }
    }
  }
  // No algorithm parameter means MD5 (RFC 7616 §3.3).
  const bare = clientAnswer(md5 as string, { username: 'alice', password: 'correct horse', method: 'MESSAGE', uri: 'sip:bob@example.org' }).replace(/, algorithm=MD5/, '')
  assert.deepEqual(auth.verify({ method: 'MESSAGE', authorization: bare }, lookup), { ok: true, username: 'alice', algorithm: 'MD5' })
})

test('407 with Proxy-Authenticate / Proxy-Authorization works through SIP messages', () => {
  const auth = new DigestAuthenticator({ realm: REALM })
  const invite = new SipRequest('INVITE', 'sip:bob@example.org')
  invite.append('Via', 'SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1').append('From', '<sip:alice@example.org>;tag=1').append('To', '<sip:bob@example.org>')
  invite.append('Call-ID', 'c1').append('CSeq', '1 INVITE')
  const rejected = createResponse(invite, 407, 'Proxy Authentication Required')
  for (const value of auth.challenge()) rejected.append('Proxy-Authenticate', value)
  // One header per challenge; a client reads them whole (getAll would split on the commas).
  const offered = rejected.headers.filter((h) => h.name === 'Proxy-Authenticate').map((h) => h.value)
  assert.equal(offered.length, 2)
  invite.append('Proxy-Authorization', clientAnswer(offered[0] as string, { username: 'alice', password: 'correct horse', method: 'INVITE', uri: 'sip:bob@example.org' }))
  assert.deepEqual(auth.verify({ method: invite.method, authorization: invite.get('proxy-authorization') }, lookup), { ok: true, username: 'alice', algorithm: 'SHA-256' })
  assert.deepEqual(auth.verify({ method: invite.method, authorization: invite.get('Authorization') }, lookup), { ok: false, reason: 'missing' })
})

test('tampered responses, wrong realm, unknown users and unsupported algorithms are refused', () => {
  const auth = new DigestAuthenticator({ realm: REALM })
  const [sha256, md5] = auth.challenge() as [string, string]
  const good = clientAnswer(sha256, { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:example.org' })
  const verify = (authorization: string | undefined, method = 'REGISTER') => auth.verify({ method, authorization }, lookup)

  const response = /response="([0-9a-f]+)"/.exec(good)?.[1] as string
  const flipped = response.slice(0, 10) + (response[10] === 'a' ? 'b' : 'a') + response.slice(11)
  assert.deepEqual(verify(good.replace(response, flipped)), { ok: false, reason: 'bad-response' })
  assert.deepEqual(verify(good.replace(response, response.toUpperCase())).ok, true, 'hex case does not matter')
  assert.deepEqual(verify(good.replace('uri="sip:example.org"', 'uri="sip:evil.example"')), { ok: false, reason: 'bad-response' })
  assert.deepEqual(verify(clientAnswer(sha256, { username: 'alice', password: 'wrong', method: 'REGISTER', uri: 'sip:x' })), { ok: false, reason: 'bad-response' })
  assert.deepEqual(verify(clientAnswer(sha256, { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:x', realm: 'other.org' })), { ok: false, reason: 'wrong-realm' })
  assert.deepEqual(verify(clientAnswer(sha256, { username: 'mallory', password: 'x', method: 'REGISTER', uri: 'sip:x' })), { ok: false, reason: 'unknown-user' })
  assert.deepEqual(verify(good.replace('algorithm=SHA-256', 'algorithm=SHA-512-256')), { ok: false, reason: 'unsupported-algorithm' })
  assert.deepEqual(verify(good.replace('algorithm=SHA-256', 'algorithm=MD5-sess')), { ok: false, reason: 'unsupported-algorithm' })
  // An MD5 answer where only SHA-256 is offered.
  const strict = new DigestAuthenticator({ realm: REALM, algorithms: ['SHA-256'] })
  const md5Answer = clientAnswer(md5, { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:x' })
  assert.deepEqual(strict.verify({ method: 'REGISTER', authorization: md5Answer }, lookup), { ok: false, reason: 'unsupported-algorithm' })
  // A lookup that throws is an unknown user, not a crash.
  assert.deepEqual(auth.verify({ method: 'REGISTER', authorization: good }, () => { throw new Error('disk on fire') }), { ok: false, reason: 'unknown-user' })
})

test('nonces expire into stale; foreign and forged nonces are never accepted', () => {
  const t = clock()
  const secret = randomBytes(32)
  const auth = new DigestAuthenticator({ realm: REALM, secret, nonceTtlMs: 60_000, now: t.now })
  const [challenge] = auth.challenge() as [string]
  const header = clientAnswer(challenge, { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:example.org' })
  const verify = (a: DigestAuthenticator, authorization = header) => a.verify({ method: 'REGISTER', authorization }, lookup)

  t.advance(59_000)
  assert.equal(verify(auth).ok, true)
  // Another instance with the same secret (a restart that kept it) accepts the nonce.
  assert.equal(verify(new DigestAuthenticator({ realm: REALM, secret, nonceTtlMs: 60_000, now: t.now })).ok, true)
  t.advance(2_000)
  assert.deepEqual(verify(auth), { ok: false, reason: 'stale' })
  assert.deepEqual(verify(auth, header.replace(/response="[0-9a-f]+"/, `response="${'0'.repeat(64)}"`)), { ok: false, reason: 'bad-response' }, 'stale only for a right answer')
  // A different secret (a restart) or a different realm: the nonce is not ours.
  assert.deepEqual(verify(new DigestAuthenticator({ realm: REALM, now: t.now })), { ok: false, reason: 'stale' })

  // Forging: a fresh timestamp with the old MAC, or a nonce of the wrong size.
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] as string
  const raw = Buffer.from(nonce, 'base64url')
  raw.writeBigUInt64BE(BigInt(t.now()), 0)
  for (const forged of [raw.toString('base64url'), nonce + 'AA', nonce.slice(0, -2), 'x']) {
    const h = clientAnswer(challenge.replace(nonce, forged), { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:example.org' })
    assert.deepEqual(verify(auth, h), { ok: false, reason: 'stale' }, forged)
  }
  // A nonce from far in the future (clock stepped back) is not fresh either.
  const future = new DigestAuthenticator({ realm: REALM, secret, now: () => t.now() + 3_600_000 })
  const [ahead] = future.challenge() as [string]
  assert.deepEqual(verify(auth, clientAnswer(ahead, { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:example.org' })), { ok: false, reason: 'stale' })
})

test('the parser tolerates case, whitespace and escapes, and refuses malformed credentials', () => {
  const auth = new DigestAuthenticator({ realm: REALM })
  const [challenge] = auth.challenge() as [string]
  const good = clientAnswer(challenge, { username: 'b"ob\\', password: 'p@ss:word', method: 'REGISTER', uri: 'sip:example.org' })
  assert.match(good, /username="b\\"ob\\\\"/)
  const verify = (authorization: string | undefined) => auth.verify({ method: 'REGISTER', authorization }, lookup)
  assert.equal(verify(good).ok, true)

  const loose = good
    .replace(/^Digest /, '  dIgEsT\t ')
    .replace(/, /g, ' ,\t ')
    .replace('username=', 'USERNAME = ')
    .replace('qop=auth', 'QOP="auth"')
    .replace('algorithm=SHA-256', 'Algorithm="sha-256"')
  assert.deepEqual(verify(loose), { ok: true, username: 'b"ob\\', algorithm: 'SHA-256' })
  assert.equal(verify(good + ', x-extension=whatever').ok, true, 'unknown parameters are ignored')

  assert.deepEqual(verify(undefined), { ok: false, reason: 'missing' })
  assert.deepEqual(verify('  '), { ok: false, reason: 'missing' })
  const malformed = [
    'Basic YWxpY2U6cGFzcw==',
    'Digest',
    'Digest username="alice"',
    good.replace(/, nonce="[^"]+"/, ''),
    good.replace(/, response="[^"]+"/, ''),
    good.replace(/, uri="[^"]+"/, ''),
    good.replace(/username="(?:[^"\\]|\\.)*", /, ''),
    good.replace(/, realm="[^"]+"/, ''),
    good + ', nonce="again"',
    good.replace('qop=auth', 'qop=auth-int'),
    good.replace(/, nc=00000001/, ''),
    good.replace('nc=00000001', 'nc=1'),
    good.replace(/, cnonce="[^"]+"/, ''),
    good.replace(/response="([0-9a-f]+)"/, 'response="$1a"'),
    good.replace(/response="[0-9a-f]+"/, `response="${'z'.repeat(64)}"`),
    good + ', userhash=true',
    good + ',',
    good + ' trailing',
    good.replace(/"$/, ''),
    good.replace('username=', 'username'),
    `Digest username="${'a'.repeat(5000)}", realm="${REALM}"`
  ]
  assert.equal(new Set([good, ...malformed]).size, malformed.length + 1, 'every mutation changed the header')
  for (const header of malformed) assert.deepEqual(verify(header), { ok: false, reason: 'malformed' }, header.slice(0, 120))
  assert.equal(parseDigestCredentials('Digest username="a\\\\b", realm="r", nonce="n", uri="u", response="x"')?.username, 'a\\b')
})

test('hundreds of random mutations of a valid header never throw', () => {
  const auth = new DigestAuthenticator({ realm: REALM })
  const [sha256, md5] = auth.challenge() as [string, string]
  const seeds = [
    clientAnswer(sha256, { username: 'alice', password: 'correct horse', method: 'REGISTER', uri: 'sip:example.org' }),
    clientAnswer(md5, { username: 'b"ob\\', password: 'p@ss:word', method: 'REGISTER', uri: 'sip:example.org', qop: false })
  ]
  let state = 0x2545f491
  const rand = (n: number) => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % n
  }
  const alphabet = ['"', '\\', ',', '=', ' ', '\t', '\r\n', 'a', '0', '\u0000', 'é', '\u{1F600}', 'Digest ', 'algorithm=', 'qop=auth', 'nc=', '%']
  const reasons = new Set<string>()
  for (let i = 0; i < 600; i++) {
    let text = seeds[i % seeds.length] as string
    for (let m = 1 + rand(4); m > 0; m--) {
      const at = rand(text.length + 1)
      switch (rand(5)) {
        case 0:
          text = text.slice(0, at) + alphabet[rand(alphabet.length)] + text.slice(at)
          break
        case 1:
          text = text.slice(0, at) + text.slice(at + 1 + rand(8))
          break
        case 2:
          text = text.slice(0, at) + String.fromCharCode(rand(256)) + text.slice(at + 1)
          break
        case 3:
          text = text.slice(0, at)
          break
        default:
          text = text.slice(0, at) + text.slice(rand(text.length)) // splice a copy of some other part
      }
    }
    const verdict = auth.verify({ method: 'REGISTER', authorization: text }, lookup)
    if (verdict.ok) assert.ok(verdict.username === 'alice' || verdict.username === 'b"ob\\', text)
    else reasons.add(verdict.reason)
  }
  assert.ok(reasons.has('malformed') && reasons.size >= 3, [...reasons].join(','))
})
