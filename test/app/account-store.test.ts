import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { AccountStore, ACCOUNTS_FILE } from '../../app/registrar/account-store.js'
import { accountsCommand } from '../../app/cli/accounts.js'
import { DigestAuthenticator, ha1, type Ha1Lookup } from '../../app/sip/digest-auth.js'
import { silentLogger } from '../../app/log.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const quiet = { log: silentLogger() }

async function tempDir() {
  return join(await mkdtemp(join(tmpdir(), 'parley-accounts-')), 'data')
}

function clock(start = 1_700_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

test('accounts are added, listed and removed; the file is owner-only and holds no password', async () => {
  const dir = await tempDir()
  const store = await AccountStore.open(dir, quiet)
  assert.deepEqual(store.list(), [])
  const alice = await store.add({ aor: 'sip:Alice@Example.ORG:5070', password: 'hunter2-very-secret' })
  assert.equal(alice.aor, 'sip:Alice@example.org:5070')
  assert.equal(alice.username, 'Alice', 'username defaults to the AOR user part')
  assert.equal(alice.realm, 'example.org', 'realm defaults to the AOR host, without the port')
  const bob = await store.add({ aor: 'sips:bob@example.org', password: 'pw2', username: 'bob-desk', realm: 'parley' })
  assert.deepEqual([bob.username, bob.realm], ['bob-desk', 'parley'])
  await store.add({ aor: 'sip:carol@[2001:db8::1]:5062', password: 'pw3' })

  const path = join(dir, ACCOUNTS_FILE)
  assert.equal((await stat(path)).mode & 0o777, 0o600)
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  const text = await readFile(path, 'utf8')
  assert.ok(!text.includes('hunter2-very-secret') && !/password/i.test(text), text)
  const file = JSON.parse(text)
  assert.equal(file.version, 1)
  assert.deepEqual(file.accounts[0].ha1, {
    md5: ha1('MD5', 'Alice', 'example.org', 'hunter2-very-secret'),
    sha256: ha1('SHA-256', 'Alice', 'example.org', 'hunter2-very-secret')
  })
  assert.deepEqual(Object.keys(file.accounts[0]).sort(), ['aor', 'createdAt', 'ha1', 'realm', 'username'])
  assert.equal(file.accounts[2].realm, '[2001:db8::1]')

  // Listings and lookups carry no hashes.
  const reopened = await AccountStore.open(dir, quiet)
  assert.deepEqual(reopened.list().map((a) => Object.keys(a).sort()), Array(3).fill(['aor', 'createdAt', 'realm', 'username']))
  assert.equal(reopened.ha1For('bob-desk', 'parley', 'SHA-256'), ha1('SHA-256', 'bob-desk', 'parley', 'pw2'))
  assert.equal(reopened.ha1For('bob-desk', 'parley', 'MD5'), ha1('MD5', 'bob-desk', 'parley', 'pw2'))
  assert.equal(reopened.ha1For('bob-desk', 'example.org', 'MD5'), undefined)
  assert.equal(reopened.accountFor('Alice', 'example.org')?.aor, 'sip:Alice@example.org:5070')
  assert.equal(reopened.accountFor('alice', 'example.org'), undefined, 'usernames are case-sensitive')

  assert.equal(await reopened.remove('sips:BOB@example.org'), undefined, 'the user part is case-sensitive')
  assert.equal((await reopened.remove('sips:bob@EXAMPLE.ORG'))?.username, 'bob-desk', 'remove by AOR (canonicalised)')
  assert.equal((await reopened.remove('Alice'))?.aor, 'sip:Alice@example.org:5070', 'remove by username')
  assert.equal(await reopened.remove('nobody'), undefined)
  assert.deepEqual(reopened.list().map((a) => a.username), ['carol'])
  assert.deepEqual((await AccountStore.open(dir, quiet)).list().map((a) => a.username), ['carol'])
})

test('duplicates, ambiguous removals and bad input are refused without touching the file', async () => {
  const dir = await tempDir()
  const store = await AccountStore.open(dir, quiet)
  await store.add({ aor: 'sip:alice@example.org', password: 'one' })
  await store.add({ aor: 'sip:alice@other.org', password: 'two' })
  const path = join(dir, ACCOUNTS_FILE)
  const before = await readFile(path, 'utf8')
  await assert.rejects(store.add({ aor: 'sip:alice@EXAMPLE.org', password: 'three' }), { code: 'ACCOUNT_EXISTS' })
  await assert.rejects(store.add({ aor: 'sip:alias@example.org', username: 'alice', password: 'x' }), { code: 'ACCOUNT_EXISTS', message: /realm/ })
  await assert.rejects(store.add({ aor: 'sip:alice@example.org', username: 'alice2', password: 'x' }), { code: 'ACCOUNT_EXISTS', message: /sip:alice@example\.org/ })
  await assert.rejects(store.remove('alice'), { code: 'ACCOUNT_AMBIGUOUS', message: /sip:alice@example\.org, sip:alice@other\.org/ })
  await assert.rejects(store.add({ aor: 'alice@example.org', password: 'x' }), { code: 'BAD_AOR' })
  await assert.rejects(store.add({ aor: 'sip:dave@example.org', password: '' }), { code: 'BAD_REQUEST' })
  await assert.rejects(store.add({ aor: 'sip:dave@example.org', password: 'x', username: 'da\nve' }), { code: 'BAD_REQUEST' })
  await assert.rejects(store.add({ aor: 'sip:dave@example.org', password: 'x', realm: '' }), { code: 'BAD_REQUEST' })
  assert.equal(await readFile(path, 'utf8'), before)
  assert.equal(store.list().length, 2)
})

test('edits by another instance or process are picked up within the recheck interval', async () => {
  const dir = await tempDir()
  const t = clock()
  const peer = await AccountStore.open(dir, { ...quiet, onCorrupt: 'keep-last-good', now: t.now, recheckMs: 1000 })
  assert.equal(peer.ha1For('alice', 'example.org', 'MD5'), undefined)

  const cli = await AccountStore.open(dir, quiet)
  await cli.add({ aor: 'sip:alice@example.org', password: 'pw' })
  assert.equal(peer.ha1For('alice', 'example.org', 'MD5'), undefined, 'not re-read before the interval')
  t.advance(1000)
  assert.equal(peer.ha1For('alice', 'example.org', 'MD5'), ha1('MD5', 'alice', 'example.org', 'pw'))

  // Remove and re-add with another password in quick succession (same size, likely same mtime tick).
  await cli.remove('sip:alice@example.org')
  await cli.add({ aor: 'sip:alice@example.org', password: 'qw' })
  t.advance(1000)
  assert.equal(peer.ha1For('alice', 'example.org', 'MD5'), ha1('MD5', 'alice', 'example.org', 'qw'))

  // A real second process: the CLI command in a child node.
  const script = `import { accountsCommand } from './app/cli/accounts.js'
    const r = await accountsCommand(${JSON.stringify(dir)}, ['add', 'sip:bob@example.org'], { password: 'from-child', json: true })
    console.log(r.output)`
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO })
  assert.equal(JSON.parse(stdout).aor, 'sip:bob@example.org')
  t.advance(1000)
  assert.equal(peer.accountFor('bob', 'example.org')?.aor, 'sip:bob@example.org')
  assert.equal(peer.ha1For('bob', 'example.org', 'SHA-256'), ha1('SHA-256', 'bob', 'example.org', 'from-child'))

  // The file removed altogether: no accounts.
  await cli.remove('alice')
  await cli.remove('bob')
  t.advance(1000)
  assert.deepEqual(peer.list(), [])
})

test('a corrupt file: DATA_CORRUPT for the CLI; the running peer keeps its last good copy', async () => {
  const dir = await tempDir()
  const path = join(dir, ACCOUNTS_FILE)
  const t = clock()
  const cli = await AccountStore.open(dir, quiet)
  await cli.add({ aor: 'sip:alice@example.org', password: 'pw' })
  const peer = await AccountStore.open(dir, { ...quiet, onCorrupt: 'keep-last-good', now: t.now })
  const aliceHa1 = ha1('SHA-256', 'alice', 'example.org', 'pw')
  assert.equal(peer.ha1For('alice', 'example.org', 'SHA-256'), aliceHa1)

  for (const broken of ['{"version":1,"accounts":[', '{"version":2,"accounts":[]}', '{"version":1,"accounts":[{"aor":"sip:x@y","username":"x","realm":"y","ha1":{"md5":"zz","sha256":""},"createdAt":""}]}']) {
    await writeFile(path, broken, { mode: 0o600 })
    await assert.rejects(AccountStore.open(dir, quiet), { code: 'DATA_CORRUPT' })
    await assert.rejects(cli.add({ aor: 'sip:bob@example.org', password: 'x' }), { code: 'DATA_CORRUPT' })
    await assert.rejects(cli.remove('alice'), { code: 'DATA_CORRUPT' })
    assert.equal(await readFile(path, 'utf8'), broken, 'never overwritten')
    t.advance(1000)
    assert.equal(peer.ha1For('alice', 'example.org', 'SHA-256'), aliceHa1, 'last good copy still served')
    assert.equal(peer.lastError?.code, 'DATA_CORRUPT')
  }
  // A file readable by others is refused like a corrupt one (HA1 is password-equivalent).
  await writeFile(path, JSON.stringify({ version: 1, accounts: [] }), { mode: 0o600 })
  await chmod(path, 0o644)
  await assert.rejects(AccountStore.open(dir, quiet), { code: 'DATA_CORRUPT', message: /chmod 600/ })
  t.advance(1000)
  assert.equal(peer.ha1For('alice', 'example.org', 'SHA-256'), aliceHa1)

  // Fixed by hand: picked up again.
  await chmod(path, 0o600)
  t.advance(1000)
  assert.equal(peer.ha1For('alice', 'example.org', 'SHA-256'), undefined)
  assert.equal(peer.lastError, undefined)

  // A peer started on a corrupt file serves nobody but does not crash.
  await writeFile(path, 'not json', { mode: 0o600 })
  const late = await AccountStore.open(dir, { ...quiet, onCorrupt: 'keep-last-good' })
  assert.deepEqual(late.list(), [])
  assert.equal(late.lastError?.code, 'DATA_CORRUPT')

  // Two entries for one (username, realm) would make logins ambiguous.
  const record = { aor: 'sip:a@x', username: 'a', realm: 'x', ha1: { md5: '0'.repeat(32), sha256: '0'.repeat(64) }, createdAt: '' }
  await writeFile(path, JSON.stringify({ version: 1, accounts: [record, { ...record, aor: 'sip:b@x' }] }), { mode: 0o600 })
  await assert.rejects(AccountStore.open(dir, quiet), { code: 'DATA_CORRUPT', message: /duplicate/ })
})

test('the store answers the digest authenticator', async () => {
  const dir = await tempDir()
  const store = await AccountStore.open(dir, quiet)
  await store.add({ aor: 'sip:alice@example.org', password: 'pw' })
  const auth = new DigestAuthenticator({ realm: 'example.org' })
  const nonce = /nonce="([^"]+)"/.exec(auth.challenge()[0] as string)?.[1] as string
  const sha = (s: string) => createHash('sha256').update(s).digest('hex')
  const response = sha(`${sha('alice:example.org:pw')}:${nonce}:${sha('REGISTER:sip:example.org')}`)
  const authorization = `Digest username="alice", realm="example.org", nonce="${nonce}", uri="sip:example.org", algorithm=SHA-256, response="${response}"`
  const lookup: Ha1Lookup = (u, r, a) => store.ha1For(u, r, a)
  assert.deepEqual(auth.verify({ method: 'REGISTER', authorization }, lookup), { ok: true, username: 'alice', algorithm: 'SHA-256' })
  assert.equal(store.accountFor('alice', 'example.org')?.aor, 'sip:alice@example.org')
  await store.remove('alice')
  assert.deepEqual(auth.verify({ method: 'REGISTER', authorization }, lookup), { ok: false, reason: 'unknown-user' })
})

test('parley accounts add/list/remove, with the password from a flag, a file or stdin', async () => {
  const dir = await tempDir()
  const run = (args: string[], flags: Partial<Parameters<typeof accountsCommand>[2]> = {}, stdin?: string) =>
    accountsCommand(dir, args, { json: false, ...flags }, stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(stdin)]) })

  assert.deepEqual(await run(['list']), { output: '(no accounts)', code: 0 })
  assert.deepEqual(await run([]), { output: '(no accounts)', code: 0 })
  assert.deepEqual(await run(['add', 'sip:alice@example.org'], { password: 'pw' }), {
    output: 'added sip:alice@example.org (username "alice", realm "example.org")',
    code: 0
  })
  const pwFile = join(dir, '..', 'pw.txt')
  await writeFile(pwFile, 'from file\n')
  const bob = await run(['add', 'sip:bob@example.org'], { passwordFile: pwFile, username: 'bobby', realm: 'lab', json: true })
  assert.deepEqual(JSON.parse(bob.output), { ...JSON.parse(bob.output), aor: 'sip:bob@example.org', username: 'bobby', realm: 'lab' })
  await run(['add', 'sip:carol@example.org'], { passwordFile: '-' }, 'from stdin\r\n')

  const store = await AccountStore.open(dir, quiet)
  assert.equal(store.ha1For('bobby', 'lab', 'MD5'), ha1('MD5', 'bobby', 'lab', 'from file'))
  assert.equal(store.ha1For('carol', 'example.org', 'MD5'), ha1('MD5', 'carol', 'example.org', 'from stdin'))

  const listed = await run(['list'], { json: true })
  assert.deepEqual(JSON.parse(listed.output).map((a: { aor: string }) => a.aor), ['sip:alice@example.org', 'sip:bob@example.org', 'sip:carol@example.org'])
  assert.ok(!/[0-9a-f]{32}/.test(listed.output), 'no hashes in the listing')
  assert.match((await run(['list'])).output, /^sip:alice@example\.org {2}username "alice" {2}realm "example\.org"$/m)
  assert.deepEqual(await run(['remove', 'sip:bob@example.org']), { output: 'removed sip:bob@example.org', code: 0 })

  const refusals: Array<[string[], Partial<Parameters<typeof accountsCommand>[2]>, string]> = [
    [['add', 'sip:dave@example.org'], {}, 'USAGE'],
    [['add', 'sip:dave@example.org'], { password: 'a', passwordFile: pwFile }, 'USAGE'],
    [['add', 'sip:dave@example.org'], { passwordFile: join(dir, 'missing') }, 'USAGE'],
    [['add'], { password: 'a' }, 'USAGE'],
    [['add', 'sip:a@b', 'extra'], { password: 'a' }, 'USAGE'],
    [['add', 'dave'], { password: 'a' }, 'BAD_AOR'],
    [['add', 'sip:alice@example.org'], { password: 'again' }, 'ACCOUNT_EXISTS'],
    [['list'], { password: 'a' }, 'USAGE'],
    [['list', 'x'], {}, 'USAGE'],
    [['remove'], {}, 'USAGE'],
    [['remove', 'sip:nobody@example.org'], {}, 'ACCOUNT_NOT_FOUND'],
    [['rename', 'x'], {}, 'USAGE']
  ]
  for (const [args, flags, code] of refusals) await assert.rejects(run(args, flags), { code }, `${args.join(' ')} ${JSON.stringify(flags)}`)
  await assert.rejects(run(['add', 'sip:dave@example.org'], { passwordFile: '-' }, '\n'), { code: 'USAGE', message: /empty/ })
})
