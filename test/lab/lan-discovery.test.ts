/**
 * Zeroconf on a LAN (issue 9; docs/lan.md): two `parley serve` peers in
 * separate network namespaces on one bridge, no bootstrap configured and no
 * route anywhere else. They find each other with mDNS (`_sipuri._udp.local`),
 * form an overlay of their own, and carry a MESSAGE and a phone call across it.
 *
 * Needs root (CI runs as root); fails, never skips, without it.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { after, before, describe, test } from 'node:test'
import { runCli } from '../helpers/cli.js'
import { controlRequest } from '../../app/cli/control-client.js'
import { exec, spawnIn, stopProcess, waitForJson } from './netns.js'
import { NODE, startLanLab, until, type LanHost as Host, type LanLab } from './lan-lab.js'

const PHONE = join(import.meta.dirname, 'fixtures', 'lan-phone.ts')
const HOSTILE = join(import.meta.dirname, 'fixtures', 'mdns-hostile.ts')
const ADVERTISER = join(import.meta.dirname, 'fixtures', 'lan-sip-advertiser.ts')
const REFRESH_MS = 2000
const SILENCE_MS = 3 * REFRESH_MS + 5000
const METRICS_PORT = 9464
/** A sample from a peer's Prometheus endpoint, read inside its namespace (it listens on that namespace's 127.0.0.1). */
async function metric(h: Host, series: string): Promise<number> {
  const text = await exec(h.ns, NODE, ['-e', `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`])
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  assert.ok(line, `no ${series} in:\n${text.split('\n').filter((l) => l.startsWith('parley_')).join('\n')}`)
  return Number(line.slice(series.length + 1))
}
const sees = async (lab: LanLab, who: Host, aor: string) => (await lab.status(who)).overlay.lan?.peers.some((p) => p.aor === aor) ?? false

describe('LAN discovery: two peers, one bridge, no bootstrap', () => {
  let lab: LanLab
  let hosts: Host[] = []
  const status = (h: Host) => lab.status(h)

  before(async () => {
    // Short mDNS rounds, so that silence is noticed within seconds (3 rounds + 5 s).
    lab = await startLanLab(['alice', 'bob'], { serveArgs: ['--lan-refresh-ms', String(REFRESH_MS), '--metrics', String(METRICS_PORT)] })
    hosts = lab.hosts
  })

  after(async () => {
    await lab?.close()
  })

  test('each peer finds the other with mDNS and joins its DHT node', async () => {
    const [alice, bob] = hosts as [Host, Host]
    const bobKey = (await status(bob)).publicKey
    const seen = await until('alice to see bob on the LAN', async () => {
      const s = await status(alice)
      return s.overlay.lan?.peers.find((p) => p.aor === bob.aor) && s
    })
    assert.equal(seen.overlay.lan?.peers.find((p) => p.aor === bob.aor)?.publicKey, bobKey)
    assert.equal(seen.overlay.lan?.peers.find((p) => p.aor === bob.aor)?.dht?.split(':')[0], bob.address)
    for (const h of hosts) {
      const s = await until(`${h.aor} to join an overlay`, async () => {
        const st = await status(h)
        return st.overlay.state === 'joined' && st.overlay.routingTableSize > 0 && st
      })
      assert.ok(s.overlay.lan?.advertising)
      assert.equal(s.overlay.lan?.mode, 'advertise')
    }
    const lookup = await runCli(['lookup', bob.aor, '--trace', '--json', '--data-dir', alice.dataDir])
    assert.equal(lookup.code, 0, lookup.stderr)
    const found = JSON.parse(lookup.stdout) as { keys: string[]; trace: { via?: string } }
    assert.deepEqual(found.keys, [bobKey])
    assert.equal(found.trace.via, 'lan')
    const human = await runCli(['lookup', bob.aor, '--trace', '--data-dir', alice.dataDir])
    assert.match(human.stdout, new RegExp(`^${bobKey}\\n\\nanswered on the LAN`))
    // The metrics count LAN answers apart from DHT lookups, and the neighbours heard.
    assert.ok((await metric(alice, 'parley_lan_lookups_total{reason="lookup"}')) >= 2)
    assert.equal(await metric(alice, 'parley_dht_lookups_total{reason="lookup",result="found"}'), 0)
    assert.equal(await metric(alice, 'parley_lan_instances{kind="peer"}'), 1)
  })

  test('a MESSAGE crosses to the discovered peer', async () => {
    const [alice, bob] = hosts as [Host, Host]
    const text = `hello over the LAN ${Date.now()}`
    const sent = await runCli(['send', bob.aor, text, '--json', '--data-dir', alice.dataDir])
    assert.equal(sent.code, 0, sent.stdout + sent.stderr)
    assert.equal((JSON.parse(sent.stdout) as { status: number }).status, 200)
    const inbox = (await controlRequest(bob.dataDir, 'inbox', {})) as Array<{ from: string; text: string }>
    assert.ok(inbox.some((m) => m.text === text && m.from === alice.aor), JSON.stringify(inbox))
  })

  test('a phone at one peer calls a phone at the other: INVITE, 180, 200, ACK, BYE', async () => {
    const [alice, bob] = hosts as [Host, Host]
    const phoneProc = (h: Host, role: string, ...extra: string[]) =>
      spawnIn(h.ns, NODE, ['--import', 'tsx', PHONE, role, h.phone, h.phonePassword, '5060', ...extra], { cwd: process.cwd() })
    const callee = phoneProc(bob, 'callee')
    assert.equal((await waitForJson<{ status: number }>(callee, (m) => m.event === 'registered', 30_000)).status, 200)
    // Bob's peer now advertises the phone's AOR too; alice's proxy finds it on the LAN.
    await until('alice to see bob\'s phone on the LAN', async () => (await status(alice)).overlay.lan?.peers.some((p) => p.aor === bob.phone))
    const caller = phoneProc(alice, 'caller', bob.phone)
    const steps = {
      invite: waitForJson(callee, (m) => m.event === 'invite', 60_000),
      provisional: waitForJson<{ status: number }>(caller, (m) => m.event === 'provisional', 60_000),
      final: waitForJson<{ status: number }>(caller, (m) => m.event === 'final', 60_000),
      ack: waitForJson(callee, (m) => m.event === 'ack', 60_000),
      calleeBye: waitForJson(callee, (m) => m.event === 'bye', 60_000),
      bye: waitForJson<{ status: number }>(caller, (m) => m.event === 'bye', 60_000)
    }
    assert.equal((await waitForJson<{ status: number }>(caller, (m) => m.event === 'registered', 30_000)).status, 200)
    const invite = (await steps.invite) as { from: string }
    assert.match(invite.from, /alice-phone@lan\.test/)
    assert.equal((await steps.provisional).status, 180)
    assert.equal((await steps.final).status, 200)
    await steps.ack
    await steps.calleeBye
    assert.equal((await steps.bye).status, 200)
  })

  test('a plain SIP phone announcing itself with mDNS (no Parley key) is called straight from a phone at a peer', async () => {
    const [alice, bob] = hosts as [Host, Host]
    const carol = 'sip:carol@lan.test'
    // sipp's stock UAS in bob's namespace, next to (not registered with) bob's peer: INVITE → 180, 200; ACK; BYE → 200.
    const uas = spawnIn(bob.ns, 'sipp', ['-sn', 'uas', '-i', bob.address, '-p', '5070', '-m', '1', '-nostdin', '-timeout', '90s', '-timeout_error'], { cwd: tmpdir() })
    const uasExit = new Promise<number | null>((resolve) => uas.once('exit', (code) => resolve(code)))
    let uasErr = ''
    uas.stderr?.on('data', (d: Buffer) => (uasErr += d.toString()))
    const advertiser = spawnIn(bob.ns, NODE, ['--import', 'tsx', ADVERTISER, bob.address, carol, 'carol-desk.local', '5070'], { cwd: process.cwd() })
    try {
      await waitForJson(advertiser, (m) => m.event === 'published', 30_000)
      const seen = await until("alice to see carol's desk phone on the LAN", async () => (await status(alice)).overlay.lan?.phones.find((p) => p.aor === carol))
      assert.equal(seen.contact, 'sip:carol@carol-desk.local')
      assert.equal(seen.address, bob.address)
      const caller = spawnIn(alice.ns, NODE, ['--import', 'tsx', PHONE, 'caller', alice.phone, alice.phonePassword, '5060', carol], { cwd: process.cwd() })
      const provisional = waitForJson<{ status: number }>(caller, (m) => m.event === 'provisional', 60_000)
      const final = waitForJson<{ status: number }>(caller, (m) => m.event === 'final', 60_000)
      const bye = waitForJson<{ status: number }>(caller, (m) => m.event === 'bye', 60_000)
      assert.equal((await waitForJson<{ status: number }>(caller, (m) => m.event === 'registered', 30_000)).status, 200)
      assert.equal((await provisional).status, 180)
      assert.equal((await final).status, 200)
      assert.equal((await bye).status, 200)
      assert.equal(await uasExit, 0, `sipp UAS: ${uasErr.slice(-2000)}`)
    } finally {
      await stopProcess(advertiser)
      await stopProcess(uas)
    }
  })

  test("parley send reaches a plain SIP phone on the LAN through the peer's own proxy", async () => {
    const [alice, bob] = hosts as [Host, Host]
    const dave = 'sip:dave@lan.test'
    const scenario = join(process.cwd(), 'test', 'interop', 'scenarios', 'message-uas.xml')
    const uas = spawnIn(bob.ns, 'sipp', ['-sf', scenario, '-i', bob.address, '-p', '5071', '-m', '1', '-nostdin', '-timeout', '60s', '-timeout_error'], { cwd: tmpdir() })
    const uasExit = new Promise<number | null>((resolve) => uas.once('exit', (code) => resolve(code)))
    const advertiser = spawnIn(bob.ns, NODE, ['--import', 'tsx', ADVERTISER, bob.address, dave, 'dave-desk.local', '5071'], { cwd: process.cwd() })
    try {
      await waitForJson(advertiser, (m) => m.event === 'published', 30_000)
      await until("alice to see dave's desk phone on the LAN", async () => (await status(alice)).overlay.lan?.phones.some((p) => p.aor === dave))
      const sent = await runCli(['send', dave, 'to a desk phone', '--json', '--data-dir', alice.dataDir])
      assert.equal(sent.code, 0, sent.stdout + sent.stderr)
      assert.equal((JSON.parse(sent.stdout) as { status: number }).status, 200)
      assert.equal(await uasExit, 0)
    } finally {
      await stopProcess(advertiser)
      await stopProcess(uas)
    }
  })

  test("a phone leaving withdraws only its own instance: the peer's others keep answering", async () => {
    const [alice, bob] = hosts as [Host, Host]
    assert.ok(await sees(lab, alice, bob.phone))
    // bonjour-service re-announces an instance 1, 4, 13, 40 and 121 s after publishing it; each
    // announcement would refresh bob for alice. Withdraw in the quiet stretch after the 40 s one,
    // so that only bob's answers to alice's queries can keep him.
    await new Promise((r) => setTimeout(r, Math.max(0, bob.readyAt + 42_000 - Date.now())))
    const leave = spawnIn(bob.ns, NODE, ['--import', 'tsx', PHONE, 'leave', bob.phone, bob.phonePassword, '5060'], { cwd: process.cwd() })
    assert.equal((await waitForJson<{ status: number }>(leave, (m) => m.event === 'unregistered', 30_000)).status, 200)
    await until("alice to drop bob's phone after its goodbye", async () => !(await sees(lab, alice, bob.phone)), 20_000)
    // Past the silence limit, bob himself must still be answering alice's queries.
    await new Promise((r) => setTimeout(r, SILENCE_MS + REFRESH_MS))
    assert.ok(await sees(lab, alice, bob.aor), 'bob dropped: withdrawing one instance silenced the others')
  })

  test('garbage datagrams and malformed instances on the LAN are refused; the peer keeps working', async () => {
    const [alice, bob] = hosts as [Host, Host]
    const marker = 'sip:marker@lan.test'
    const hostile = spawnIn(alice.ns, NODE, ['--import', 'tsx', HOSTILE, alice.address, marker], { cwd: process.cwd() })
    try {
      await waitForJson(hostile, (m) => m.event === 'published', 30_000)
      // The well-formed marker arrives with the rest, so the others were heard, and refused.
      const s = await until('bob to hear the hostile host\'s marker instance', async () => {
        const st = await status(bob)
        return st.overlay.lan?.peers.some((p) => p.aor === marker) && st
      })
      const heard = new Set(s.overlay.lan?.peers.map((p) => p.aor))
      assert.ok(heard.has(alice.aor) && heard.has(marker))
      // alice's phone may have gone with its binding; nothing of the hostile host's but the marker may be there.
      assert.deepEqual([...heard].filter((a) => ![alice.aor, alice.phone, marker].includes(a)), [], alice.peer.stderr.split('\n').filter((l) => /phone|LAN/.test(l)).join('\n').slice(-3000))
      // The keyless instance's contact points at another machine: no phone either.
      assert.ok(!s.overlay.lan?.phones.some((p) => p.aor === 'sip:nokey@lan.test'), JSON.stringify(s.overlay.lan?.phones))
      const text = `still here ${Date.now()}`
      const sent = await runCli(['send', alice.aor, text, '--json', '--data-dir', bob.dataDir])
      assert.equal((JSON.parse(sent.stdout) as { status: number }).status, 200, sent.stderr)
    } finally {
      await stopProcess(hostile)
    }
  })

  test('with advertising turned off a peer disappears from the LAN, yet the overlay the LAN formed still finds it', async () => {
    const [alice, bob] = hosts as [Host, Host]
    await controlRequest(bob.dataDir, 'settings.set', { lanAdvertise: false })
    assert.equal((await status(bob)).overlay.lan?.advertising, false)
    await until('alice to drop bob after his goodbye', async () => !(await status(alice)).overlay.lan?.peers.some((p) => p.aor === bob.aor), 20_000)
    // Bob still browses: alice is still in his list.
    assert.ok((await status(bob)).overlay.lan?.peers.some((p) => p.aor === alice.aor))
    const lookup = await runCli(['lookup', bob.aor, '--trace', '--json', '--data-dir', alice.dataDir])
    const found = JSON.parse(lookup.stdout) as { keys: string[]; trace: { via?: string } }
    assert.deepEqual(found.keys, [(await status(bob)).publicKey], 'found through the DHT the LAN bootstrapped')
    assert.notEqual(found.trace.via, 'lan')
    await controlRequest(bob.dataDir, 'settings.set', { lanAdvertise: true })
    await until('alice to see bob again', () => sees(lab, alice, bob.aor), 20_000)
  })

  test('a peer killed without a goodbye drops out after three unanswered rounds', async () => {
    const [alice, bob] = hosts as [Host, Host]
    assert.ok(await sees(lab, alice, bob.aor))
    await bob.peer.stop('SIGKILL')
    await until('alice to drop the silent bob', async () => !(await sees(lab, alice, bob.aor)), SILENCE_MS + 3 * REFRESH_MS + 10_000)
  })
})
