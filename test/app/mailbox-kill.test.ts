import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CliProcess, runCli } from '../helpers/cli.js'
import { controlRequest } from '../../app/cli/control-client.js'
import type { ApiMethod } from '../../app/api/contract.js'

/**
 * Offline messages survive super-nodes dying: nine `parley serve --supernode
 * always` processes hold mailboxes; holders are SIGKILLed (no hand-off, no
 * goodbye) before the recipient comes back, and in the middle of a burst.
 */
const procs: CliProcess[] = []
const dirs: string[] = []
let bootstrap = ''
const holders: Array<{ proc: CliProcess; dir: string }> = []
let alice: { proc: CliProcess; dir: string }
let bobDir = ''

const MAILBOX_FLAGS = ['--mailbox-check-ms', '3600000', '--mailbox-repair-ms', '3600000']

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-mailkill-'))
  dirs.push(dir)
  return dir
}

async function serve(aor: string, extra: string[] = [], dataDir?: string): Promise<{ proc: CliProcess; dir: string }> {
  const dir = dataDir ?? (await tempDir())
  const proc = CliProcess.start(['serve', '--data-dir', dir, '--aor', aor, '--bootstrap', bootstrap, '--dht-host', '127.0.0.1', ...MAILBOX_FLAGS, ...extra])
  procs.push(proc)
  await proc.waitFor((l) => l.event === 'ready', `${aor} ready`)
  return { proc, dir }
}

/** Ask a running peer over its control socket (what the CLI does, without a process per question). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ask(dir: string, method: ApiMethod, params: object = {}): Promise<any> {
  return controlRequest(dir, method, params as never)
}

async function until(ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${ok.toString()}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const alive = () => holders.filter((h) => h.proc.child.exitCode === null && h.proc.child.signalCode === null)

/** Envelopes each live holder keeps (by data dir). */
async function heldBy(): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const h of alive()) out.set(h.dir, (await ask(h.dir, 'mailbox.status')).holder.envelopes)
  return out
}

const total = async () => [...(await heldBy()).values()].reduce((a, b) => a + b, 0)

before(async () => {
  const testnet = CliProcess.start(['testnet', '--nodes', '3'])
  procs.push(testnet)
  bootstrap = ((await testnet.waitFor((l) => Array.isArray(l.bootstrap), 'bootstrap line')).bootstrap as string[]).join(',')
  for (let i = 0; i < 9; i++) holders.push(await serve(`sip:holder${i}@kill.test`, ['--supernode', 'always']))
  await until(async () => (await Promise.all(holders.map((h) => ask(h.dir, 'mailbox.status')))).every((s) => s.holder.active), 60_000)
  alice = await serve('sip:alice@kill.test')
  // Bob was online once, and Alice pinned his key; now he is offline.
  const bob = await serve('sip:bob@kill.test')
  bobDir = bob.dir
  const bobKey = (await ask(bob.dir, 'status')).publicKey as string
  await ask(alice.dir, 'contacts.pin', { aor: 'sip:bob@kill.test', publicKey: bobKey })
  assert.equal(await bob.proc.stop('SIGTERM'), 0)
})

after(async () => {
  for (const p of procs.reverse()) await p.stop('SIGKILL')
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

test('three of the five holders SIGKILLed before the recipient comes back: still delivered, and repair restores five copies', async () => {
  const sent = await runCli(['send', 'sip:bob@kill.test', 'kept through the crash', '--data-dir', alice.dir, '--json'])
  assert.equal(sent.code, 0, sent.stderr)
  const result = JSON.parse(sent.stdout)
  assert.equal(result.delivery, 'stored')
  assert.ok(result.mailbox.acks >= 3)
  const before = await heldBy()
  const keeping = holders.filter((h) => before.get(h.dir) === 1)
  assert.equal(keeping.length, 5, 'five holders keep it')

  for (const h of keeping.slice(0, 3)) await h.proc.stop('SIGKILL')
  assert.equal(await total(), 2)
  for (const h of keeping.slice(3)) assert.equal((await runCli(['mailbox', 'repair', '--data-dir', h.dir, '--json'])).code, 0)
  assert.equal(await total(), 5, 'five copies again after repair')

  const bob = await serve('sip:bob@kill.test', [], bobDir)
  await until(async () => (await ask(bobDir, 'inbox')).some((m: { text: string }) => m.text === 'kept through the crash'))
  const inbox = (await ask(bobDir, 'inbox')).filter((m: { text: string }) => m.text === 'kept through the crash')
  assert.equal(inbox.length, 1)
  assert.equal(inbox[0].mailed, true)
  await until(async () => (await total()) === 0)
  assert.equal(await bob.proc.stop('SIGTERM'), 0)
})

test('a holder SIGKILLed in the middle of a burst: every message the sender was told was stored is delivered', async () => {
  assert.equal(alive().length, 6)
  const texts = Array.from({ length: 16 }, (_, i) => `burst ${i}`)
  const results: Array<{ text: string; delivery: string }> = []
  let killed = false
  let next = 0
  const worker = async () => {
    while (next < texts.length) {
      const text = texts[next++]!
      const r = await ask(alice.dir, 'send', { to: 'sip:bob@kill.test', text })
      results.push({ text, delivery: r.delivery })
      if (results.length === 6 && !killed) {
        killed = true
        // Kill a holder that keeps some of the burst.
        const held = await heldBy()
        const victim = alive().find((h) => (held.get(h.dir) ?? 0) > 0)!
        await victim.proc.stop('SIGKILL')
      }
    }
  }
  await Promise.all([worker(), worker(), worker()])
  assert.ok(killed)
  const stored = results.filter((r) => r.delivery === 'stored').map((r) => r.text)
  assert.ok(stored.length >= 12, `most sends were stored: ${JSON.stringify(results)}`)

  const bob = await serve('sip:bob@kill.test', [], bobDir)
  await until(async () => {
    const inbox = (await ask(bobDir, 'inbox')) as Array<{ text: string }>
    return stored.every((t) => inbox.some((m) => m.text === t))
  })
  const inbox = (await ask(bobDir, 'inbox')) as Array<{ text: string }>
  for (const t of stored) assert.equal(inbox.filter((m) => m.text === t).length, 1, `${t} exactly once`)
  await bob.proc.stop('SIGTERM')
})
