import { test, before, after, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import HyperDHT from 'hyperdht'
import type { NoiseSecretStream } from 'hyperdht'
import Protomux from 'protomux'
import c from 'compact-encoding'
import { CliProcess, runCli, startCliTestnet } from '../helpers/cli.js'
import { Lab } from '../helpers/overlay.js'
import { mutate, rng } from '../helpers/mutate.js'
import { PeerSession } from '../../app/peer-session.js'
import { ApiService } from '../../app/api/api-service.js'
import { silentLogger } from '../../app/log.js'
import type { DiagReport } from '../../app/api/contract.js'

// ── Through the CLI, against running `parley serve` peers ──────────────────

describe('parley diag against running peers', () => {
  const procs: CliProcess[] = []
  const dirs: string[] = []
  let alice: { proc: CliProcess; dir: string; key: string }
  let bob: { proc: CliProcess; dir: string; key: string; udpPort: number }

  async function serve(aor: string, extra: string[] = []) {
    const dir = await mkdtemp(join(tmpdir(), 'parley-diag-'))
    dirs.push(dir)
    const proc = CliProcess.start(['serve', '--data-dir', dir, '--aor', aor, '--bootstrap', bootstrap, '--dht-host', '127.0.0.1', ...extra])
    procs.push(proc)
    const ready = await proc.waitFor((l) => l.event === 'ready', 'ready')
    return { proc, dir, ready, key: String(ready.publicKey) }
  }
  let bootstrap = ''

  const diag = async (dir: string, ...args: string[]) => runCli(['diag', ...args, '--data-dir', dir])
  const diagJson = async <T = DiagReport>(dir: string, ...args: string[]): Promise<T> => {
    const r = await diag(dir, ...args, '--json')
    assert.equal(r.code, 0, `diag ${args.join(' ')}: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  before(async () => {
    bootstrap = await startCliTestnet(procs)
    const a = await serve('sip:alice@diag.test')
    alice = { proc: a.proc, dir: a.dir, key: a.key }
    const b = await serve('sip:bob@diag.test', ['--log-level', 'info', '--sip-udp', '0', '--sip-auth', 'off', '--sip-dns', 'off'])
    const udp = (b.ready.sip as Array<{ transport: string; port: number }>).find((t) => t.transport.toUpperCase() === 'UDP')
    assert.ok(udp, 'bob has a UDP transport')
    bob = { proc: b.proc, dir: b.dir, key: b.key, udpPort: udp.port }
    const sent = await runCli(['send', 'sip:bob@diag.test', 'hello diagnostics', '--data-dir', alice.dir, '--json'])
    assert.equal(sent.code, 0, sent.stderr)
  })

  after(async () => {
    for (const p of procs.reverse()) await p.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  test('routes, neighbours, store and lookups report the running node', async () => {
    const routes = await diagJson(alice.dir, 'routes')
    assert.equal(routes.publicKey, alice.key)
    assert.ok(routes.routes && routes.routes.size > 0, 'the routing table on a testnet is not empty')
    assert.equal(routes.routes.nodes.length, routes.routes.size)
    assert.ok(routes.routes.nodes.every((n) => n.host === '127.0.0.1' && /^[0-9a-f]{64}$/.test(n.id)))
    assert.equal(routes.neighbours, undefined, 'only the section asked for')

    const out = (await diagJson(alice.dir, 'neighbours')).neighbours ?? []
    const toBob = out.find((n) => n.publicKey === bob.key)
    assert.ok(toBob, `alice's streams include bob's: ${JSON.stringify(out)}`)
    assert.equal(toBob.direction, 'out')
    assert.equal(toBob.aor, 'sip:bob@diag.test')
    assert.match(toBob.address ?? '', /^127\.0\.0\.1:\d+$/)
    assert.ok(Date.parse(toBob.since) <= Date.now())
    const into = (await diagJson(bob.dir, 'neighbours')).neighbours ?? []
    assert.equal(into.find((n) => n.publicKey === alice.key)?.direction, 'in')

    const aliceStore = (await diagJson(alice.dir, 'store')).store
    assert.deepEqual(aliceStore?.messages, { received: 0, sent: 1 })
    assert.equal(aliceStore?.dht.persistent, false)
    assert.deepEqual(aliceStore?.registrar, { aors: 0, bindings: 0 })
    assert.equal((await diagJson(bob.dir, 'store')).store?.messages.received, 1)

    const lookups = (await diagJson(alice.dir, 'lookups')).lookups ?? []
    const forBob = lookups.find((l) => l.aor === 'sip:bob@diag.test' && l.reason === 'message')
    assert.ok(forBob, `the message's lookup is listed: ${JSON.stringify(lookups)}`)
    assert.equal(forBob.keys, 1)
    assert.ok(forBob.contacted > 0)

    const human = await diag(alice.dir)
    assert.equal(human.code, 0, human.stderr)
    for (const heading of ['routing table:', 'neighbours: 1 open peer stream', 'stored here (counts only):', 'recent lookups:']) assert.ok(human.stdout.includes(heading), heading)
  })

  test('a query from a key not on the allow-list is refused; once its owner allows the key, it is answered', async () => {
    const refused = await diag(alice.dir, 'routes', '--peer', 'sip:bob@diag.test', '--json')
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /\[NOT_ALLOWED\]/)
    assert.equal(refused.stdout, '')
    const levelRefused = await diag(alice.dir, 'log-level', 'debug', '--peer', bob.key)
    assert.match(levelRefused.stderr, /\[NOT_ALLOWED\]/)

    assert.deepEqual(await diagJson<string[]>(bob.dir, 'allow', 'add', alice.key.toUpperCase()), [alice.key])
    assert.deepEqual(await diagJson<string[]>(bob.dir, 'allow', 'list'), [alice.key])
    const remote = await diagJson(alice.dir, 'all', '--peer', 'sip:bob@diag.test')
    assert.equal(remote.publicKey, bob.key)
    assert.ok(remote.routes && remote.routes.size > 0)
    assert.equal(remote.neighbours?.find((n) => n.publicKey === alice.key)?.direction, 'in')
    assert.equal(remote.store?.messages.received, 1)
    assert.deepEqual(await diagJson(alice.dir, 'log-level', '--peer', bob.key), { level: 'info', previous: 'info' })

    assert.deepEqual(await diagJson(bob.dir, 'allow', 'remove', alice.key), { removed: true, allow: [] })
    assert.match((await diag(alice.dir, 'store', '--peer', bob.key)).stderr, /\[NOT_ALLOWED\]/)
  })

  test('bad arguments exit 2 with the reason', async () => {
    for (const [args, reason] of [
      [['bogus'], /diag takes/],
      [['routes', 'extra'], /diag takes/],
      [['log-level', 'loud'], /log-level must be one of/],
      [['allow', 'add', 'not-a-key'], /64 hex digits/],
      [['allow', 'add'], /diag takes/],
      [['allow', 'list', '--peer', 'sip:bob@diag.test'], /--peer does not apply/],
      [['routes', '--verbose'], /Unknown option/]
    ] as const) {
      const r = await diag(alice.dir, ...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, reason)
    }
  })

  test('the log level changes at run time: debug lines appear after `diag log-level debug`, and stop after `info`', async () => {
    const debugLines = () => bob.proc.stderr.split('\n').filter((l) => l.includes('"level":20') && l.includes('malformed datagram')).length
    const garbage = async () => {
      const socket = createSocket('udp4')
      await new Promise<void>((resolve, reject) => socket.send('this is not SIP\r\n\r\n', bob.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
      socket.close()
      await sleep(500)
    }
    assert.deepEqual(await diagJson(bob.dir, 'log-level'), { level: 'info', previous: 'info' })
    await garbage()
    assert.equal(debugLines(), 0, 'no debug lines at info')

    assert.deepEqual(await diagJson(bob.dir, 'log-level', 'debug'), { level: 'debug', previous: 'info' })
    await garbage()
    assert.equal(debugLines(), 1, `a debug line from the UDP transport's child logger: ${bob.proc.stderr.slice(-1000)}`)

    const back = await diag(bob.dir, 'log-level', 'info')
    assert.equal(back.stdout.trim(), 'log level: info (was debug)')
    await garbage()
    assert.equal(debugLines(), 1, 'none again at info')
  })
})

// ── The wire: garbage on the diagnostics channel ────────────────────────────

/** A bare HyperDHT node speaking the diagnostics channel by hand, as a hostile peer would. */
async function rawDiagChannel(lab: Lab, dht: HyperDHT, key: Buffer) {
  const stream: NoiseSecretStream = dht.connect(key)
  stream.on('error', () => {})
  lab.onTeardown(async () => void stream.destroy()) // an open stream would keep the test process alive
  const replies: Array<Record<string, unknown>> = []
  let wake: (() => void) | null = null
  let opened!: () => void
  const open = new Promise<void>((resolve) => (opened = resolve))
  const channel = Protomux.from(stream).createChannel({ protocol: 'parley/diag/v1', onopen: () => opened() })
  assert.ok(channel)
  const frames = channel.addMessage<Buffer>({
    encoding: c.buffer,
    onmessage: (frame) => {
      replies.push(JSON.parse(frame.toString('utf8')) as Record<string, unknown>)
      wake?.()
    }
  })
  channel.open()
  await open
  return {
    stream,
    replies,
    send: (frame: Buffer | string | object) => frames.send(Buffer.isBuffer(frame) ? frame : Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame))),
    /** The next reply not yet taken. */
    async next(timeoutMs = 5000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs
      while (!replies.length) {
        if (Date.now() > deadline) throw new Error('no reply')
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 100)
        })
      }
      return replies.shift()!
    }
  }
}

describe('the diagnostics channel on the wire', () => {
  let lab: Lab
  let api: ApiService
  let victimKey: Buffer
  let sendToVictim: (text: string) => Promise<number>
  let senderHex: string
  let dht: HyperDHT
  const attacker = HyperDHT.keyPair()
  const attackerHex = attacker.publicKey.toString('hex')

  before(async () => {
    lab = await Lab.create(8)
    const dataDir = await lab.tempDir()
    const victim = await lab.peer('sip:victim@diag.test', { dataDir })
    const sender = await lab.peer('sip:sender@diag.test')
    api = await ApiService.open(PeerSession.running(victim, { dataDir }), dataDir, silentLogger())
    lab.onTeardown(() => api.close())
    victimKey = victim.identity.keyPair.publicKey
    senderHex = sender.identity.keyPair.publicKey.toString('hex')
    sendToVictim = async (text) => (await sender.sendMessage('sip:victim@diag.test', text)).status
    dht = new HyperDHT({ bootstrap: lab.bootstrap, host: '127.0.0.1', keyPair: attacker })
    lab.onTeardown(() => dht.destroy())
  })

  after(() => lab.destroy())

  test('garbage and oversized frames get BAD_REQUEST; a well-formed request from a key not allowed gets NOT_ALLOWED and nothing else', async () => {
    const raw = await rawDiagChannel(lab, dht, victimKey)
    const bad = (id: number) => (r: Record<string, unknown>) => {
      assert.equal(r.id, id, JSON.stringify(r))
      assert.equal(r.ok, false)
      assert.equal((r.error as { code: string }).code, 'BAD_REQUEST', JSON.stringify(r))
    }
    const cases: Array<[Buffer | string | object, (r: Record<string, unknown>) => void]> = [
      ['not json at all', bad(0)],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), bad(0)],
      ['[]', bad(0)],
      ['null', bad(0)],
      [{ id: 7, type: 'report', section: 'everything' }, bad(7)],
      [{ id: 8, type: 'rm -rf /' }, bad(8)],
      [{ id: 9, type: 'report', section: 'all', extra: true }, bad(9)],
      [{ id: -1, type: 'report', section: 'all' }, bad(0)],
      [{ id: 10, type: 'log-level', level: 'loudest' }, bad(10)],
      [{ id: 11, type: 'report', section: 'all', pad: 'x'.repeat(2000) }, bad(0)],
      [Buffer.alloc(2 * 1024 * 1024, 0x7b), bad(0)]
    ]
    for (const [frame, check] of cases) {
      raw.send(frame)
      check(await raw.next())
    }
    // Shaped like a reply to a request this side never made: dropped, never answered (no ping-pong).
    raw.send({ id: 12, ok: true, report: {} })
    raw.send({ id: 13, type: 'report', section: 'routes' })
    const refused = await raw.next()
    assert.deepEqual(refused, { id: 13, ok: false, error: { code: 'NOT_ALLOWED', reason: 'this key may not read diagnostics here' } })
    raw.send({ id: 14, type: 'log-level', level: 'trace' })
    assert.equal(((await raw.next()).error as { code: string }).code, 'NOT_ALLOWED')
    assert.deepEqual(await api.handle('diag.logLevel', {}), { level: 'silent', previous: 'silent' }, 'the refused request changed nothing')

    // The same stream, once the owner allows this key.
    await api.handle('diag.allow.add', { publicKey: attackerHex })
    raw.send({ id: 15, type: 'report', section: 'routes' })
    const answered = await raw.next()
    assert.equal(answered.id, 15)
    assert.equal(answered.ok, true, JSON.stringify(answered))
    assert.ok((answered.report as DiagReport).routes!.size > 0)
    await api.handle('diag.allow.remove', { publicKey: attackerHex })

    assert.equal(await sendToVictim('still working?'), 200)
  })

  test('a flood of mutated requests is rate-limited and never crashes the peer', async () => {
    const raw = await rawDiagChannel(lab, dht, victimKey)
    const random = rng(9)
    const valid = Buffer.from(JSON.stringify({ id: 1, type: 'report', section: 'all' }))
    for (let i = 0; i < 300; i++) raw.send(mutate(valid, random))
    await sleep(1000)
    assert.ok(raw.replies.length >= 20 && raw.replies.length <= 21, `20 answers and one RATE_LIMITED at most, got ${raw.replies.length}`)
    for (const r of raw.replies) assert.ok(['BAD_REQUEST', 'NOT_ALLOWED', 'RATE_LIMITED'].includes((r.error as { code: string }).code), JSON.stringify(r))
    assert.equal((raw.replies.at(-1)!.error as { code: string }).code, 'RATE_LIMITED')
    assert.equal(await sendToVictim('after the flood'), 200)
    const local = (await api.handle('diag.get', { section: 'neighbours' })) as DiagReport
    assert.equal(local.neighbours!.find((n) => n.publicKey === senderHex)?.direction, 'in', "the sender's stream is still up")
  })
})
