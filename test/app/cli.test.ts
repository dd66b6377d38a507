import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CliProcess, runCli, startCliTestnet } from '../helpers/cli.js'
import { TestUa } from '../helpers/sip-ua.js'

const procs: CliProcess[] = []
const dirs: string[] = []
let bootstrap = ''

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'parley-cli-'))
  dirs.push(dir)
  return dir
}

async function serve(aor: string, dataDir?: string) {
  const dir = dataDir ?? (await tempDir())
  const proc = CliProcess.start(['serve', '--data-dir', dir, '--aor', aor, '--bootstrap', bootstrap, '--dht-host', '127.0.0.1'])
  procs.push(proc)
  const ready = await proc.waitFor((l) => l.event === 'ready', 'ready')
  return { proc, dir, ready }
}

before(async () => {
  bootstrap = await startCliTestnet(procs)
})

after(async () => {
  for (const p of procs.reverse()) await p.stop()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

test('serve, send, inbox, lookup --trace and status work through the CLI', async () => {
  const alice = await serve('sip:Alice@Example.org')
  const bob = await serve('sip:bob@example.org')
  assert.equal(alice.ready.aor, 'sip:Alice@example.org')
  assert.match(String(alice.ready.publicKey), /^[0-9a-f]{64}$/)
  assert.equal(alice.ready.overlay, 'joined')

  const sent = await runCli(['send', 'sip:bob@example.org', 'hello from the CLI', '--data-dir', alice.dir, '--json'])
  assert.equal(sent.code, 0, sent.stderr)
  assert.equal(JSON.parse(sent.stdout).status, 200)

  const inbox = await runCli(['inbox', '--data-dir', bob.dir, '--json'])
  assert.deepEqual(JSON.parse(inbox.stdout).map((m: { text: string; from: string }) => [m.from, m.text]), [['sip:Alice@example.org', 'hello from the CLI']])
  await bob.proc.waitFor((l) => l.event === 'message' && l.text === 'hello from the CLI', 'message event')

  const lookup = await runCli(['lookup', 'sip:Alice@EXAMPLE.ORG', '--trace', '--json', '--data-dir', bob.dir])
  const found = JSON.parse(lookup.stdout)
  assert.deepEqual(found.keys, [alice.ready.publicKey])
  assert.ok(found.trace.nodes.length > 0)

  const status = JSON.parse((await runCli(['status', '--json', '--data-dir', bob.dir])).stdout)
  assert.equal(status.registrations[0].state, 'announced')
  assert.ok(status.overlay.routingTableSize > 0)
  assert.ok(status.connections >= 1)
  // af() with its inputs, and the super-node policy's state (issue 5)
  assert.equal(typeof status.relay.annoyance.af, 'number')
  assert.deepEqual(Object.keys(status.relay.annoyance.terms).sort(), ['bandwidth', 'calls', 'cpu', 'interactivity'])
  assert.equal(typeof status.relay.annoyance.inputs.cpuSystem, 'number')
  assert.equal(status.relay.mode, 'auto')
  assert.equal(status.relay.role, 'client')

  const missing = await runCli(['send', 'sip:nobody@example.org', 'x', '--data-dir', alice.dir, '--json'])
  assert.equal(missing.code, 1)
  assert.equal(JSON.parse(missing.stdout).status, 404)
})

test('a peer killed with SIGKILL is reported as 480; graceful stop says so', async () => {
  const alice = await serve('sip:survivor@example.org')
  const bob = await serve('sip:victim@example.org')
  assert.equal(await bob.proc.stop('SIGKILL'), null)
  const sent = await runCli(['send', 'sip:victim@example.org', 'still there?', '--data-dir', alice.dir, '--json'])
  assert.equal(JSON.parse(sent.stdout).status, 480)
  assert.equal(await alice.proc.stop('SIGTERM'), 0)
  assert.ok(alice.proc.lines.some((l) => l.event === 'stopped'))
})

test('bad flags, bad AORs, missing peers and a busy data dir give one-line errors', async () => {
  const dir = await tempDir()
  const cases: Array<[string[], number, RegExp]> = [
    [['serve', '--data-dir', dir, '--wat'], 2, /Unknown option '--wat'/],
    [['serve', '--data-dir', dir, '--aor', 'mailto:bob@example.org'], 2, /BAD|not a valid SIP address/],
    [['serve', '--data-dir', dir, '--aor', 'sip:a@b.c', '--bootstrap', 'nohost'], 2, /HOST:PORT/],
    [['send', 'bob', 'hi', '--data-dir', dir], 2, /not a valid SIP address/],
    [['send', 'sip:bob@example.org', '--data-dir', dir], 2, /takes 2 argument/],
    [['status', '--data-dir', dir], 1, /no Parley peer is running/],
    [['frobnicate'], 2, /unknown command/],
    [['testnet', '--nodes', 'many'], 2, /--nodes must be an integer/],
    [['serve', '--data-dir', dir, '--supernode', 'sometimes'], 2, /--supernode must be one of auto, always, never/],
    [['serve', '--data-dir', dir, '--turn-port', '70000'], 2, /--turn-port must be an integer/],
    [['serve', '--data-dir', dir, '--relay-max-calls', 'lots'], 2, /--relay-max-calls must be an integer/],
    [['serve', '--data-dir', dir, '--relay-cpu', 'theirs'], 2, /--relay-cpu must be system or own/],
    [['serve', '--data-dir', dir, '--lan', 'loud'], 2, /--lan must be one of advertise, browse, off/],
    [['serve', '--data-dir', dir, '--lan-refresh-ms', '10'], 2, /--lan-refresh-ms must be an integer from 500 to 3600000/]
  ]
  for (const [args, code, message] of cases) {
    const r = await runCli(args)
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
  }
  const running = await serve('sip:owner@example.org')
  const second = await runCli(['serve', '--data-dir', running.dir, '--aor', 'sip:owner@example.org', '--bootstrap', bootstrap])
  assert.equal(second.code, 1)
  assert.match(second.stderr, /already running/)
  const still = await runCli(['status', '--json', '--data-dir', running.dir])
  assert.equal(still.code, 0)
})

test('accounts are managed from the CLI and a phone registers to a served peer over UDP', async () => {
  const dir = await tempDir()
  const added = await runCli(['accounts', 'add', 'sip:desk@example.org', '--password', 'pa55word', '--data-dir', dir])
  assert.equal(added.code, 0, added.stderr)
  const list = await runCli(['accounts', 'list', '--json', '--data-dir', dir])
  assert.deepEqual(JSON.parse(list.stdout).map((a: { aor: string }) => a.aor), ['sip:desk@example.org'])
  assert.doesNotMatch(JSON.stringify(list.stdout), /pa55word/)
  const dup = await runCli(['accounts', 'add', 'sip:desk@example.org', '--password', 'x', '--data-dir', dir])
  assert.notEqual(dup.code, 0)

  const proc = CliProcess.start(['serve', '--data-dir', dir, '--aor', 'sip:owner@example.org', '--bootstrap', bootstrap, '--dht-host', '127.0.0.1', '--sip-udp', '0'])
  procs.push(proc)
  const ready = await proc.waitFor((l) => l.event === 'ready', 'ready')
  const udp = (ready.sip as Array<{ transport: string; host: string; port: number }>).find((t) => t.transport === 'UDP')
  assert.equal(udp?.host, '127.0.0.1')
  const phone = await TestUa.open('sip:desk@example.org', udp?.port ?? 0)
  try {
    assert.equal((await phone.register()).status, 401)
    assert.equal((await phone.register({ password: 'pa55word' })).status, 200)
    const status = JSON.parse((await runCli(['status', '--json', '--data-dir', dir])).stdout)
    assert.equal(status.sip.boundAors, 1)
  } finally {
    phone.close()
  }
  const removed = await runCli(['accounts', 'remove', 'sip:desk@example.org', '--data-dir', dir])
  assert.equal(removed.code, 0, removed.stderr)
})
