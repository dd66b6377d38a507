/**
 * The interop tests with real tools (sipp, baresip), written once and run
 * against Kamailio (the baseline, kamailio-baseline.test.ts) and against two
 * Parley peers joined by a local DHT testnet (parley.test.ts). Nothing here
 * knows what the registrar is: every test talks to `reg.a` / `reg.b`
 * (HOST:PORT of the registrar/proxy each UA uses) and `reg.domain`.
 *
 * Needs the Debian packages in .ci/apt-packages. Everything is on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  SCENARIOS,
  describeSipp,
  freePort,
  hostPort,
  interopToolsInstalled,
  runSipp,
  startBaresip,
  startSipp,
  type Account,
  type HostPort,
  type SippProcess,
  type SippStats
} from './tools.js'

// ── the system under test ────────────────────────────────────────────────────

export interface Registrars {
  /** Registrar/proxy of the "A" side (callers). */
  a: HostPort
  /** Registrar/proxy of the "B" side (callees); may equal `a`. */
  b: HostPort
  /** AOR domain; undefined = each side's HOST:PORT. */
  domain?: string
  /** Accounts known to both registrars. */
  accounts: Record<string, Account>
  close(): Promise<void>
}

export const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'] as const
type User = (typeof USERS)[number]

// ── helpers ──────────────────────────────────────────────────────────────────

let reg: Registrars
const acct = (u: User): Account => reg.accounts[u]!
const domainOf = (side: HostPort): string => reg.domain ?? hostPort(side)

function assertAllOk(s: SippStats, what: string, calls = 1): void {
  assert.equal(s.exitCode, 0, `${what}: ${describeSipp(s)}`)
  assert.equal(s.successfulCalls, calls, `${what}: ${describeSipp(s)}`)
  assert.equal(s.failedCalls, 0, `${what}: ${describeSipp(s)}`)
}

/** Registers `user` at `registrar` with Contact 127.0.0.1:`localPort` (sipp binds it only for this). */
async function register(user: User, registrar: HostPort, localPort?: number): Promise<SippStats> {
  const s = await runSipp({
    scenario: SCENARIOS.registerAuth,
    target: registrar,
    domain: domainOf(registrar),
    accounts: [acct(user)],
    localPort,
    expires: 300,
    timeoutMs: 15_000
  })
  assertAllOk(s, `REGISTER ${user}`)
  return s
}

/**
 * Registers `user` from a fresh port, then starts a sipp server scenario on
 * that same port (the registered Contact), so requests for the user reach it.
 */
async function registeredServer(user: User, registrar: HostPort, scenario: string): Promise<SippProcess> {
  const port = await freePort({ tcp: false })
  await register(user, registrar, port)
  return startSipp({ scenario, localPort: port, calls: 1, timeoutMs: 30_000, traceMessages: true })
}

// ── tests ────────────────────────────────────────────────────────────────────

/** The interop tests, run against whatever `start` brings up as registrar(s)/proxy(ies). */
export function interopSuite(title: string, start: () => Promise<Registrars>, tools: Array<'kamailio'> = []): void {
describe(title, { timeout: 120_000 }, () => {
  before(async () => {
    const installed = interopToolsInstalled()
    assert.ok(installed.sipp && installed.baresip && tools.every((t) => installed[t]), `install the Debian packages in .ci/apt-packages (found ${JSON.stringify(installed)})`)
    reg = await start()
  })
  after(async () => {
    await reg?.close()
  })

  test('REGISTER is challenged (401) and accepted with digest credentials (200)', async () => {
    const s = await register('alice', reg.a)
    const step = (name: string): number => s.messages.find((m) => m.name.endsWith(`_${name}`))?.count ?? -1
    assert.equal(step('401'), 1, describeSipp(s))
    assert.equal(step('200'), 1, describeSipp(s))
    assert.equal(s.retransmissions, 0, describeSipp(s))
  })

  test('REGISTER with a wrong password is not accepted', async () => {
    const s = await runSipp({
      scenario: SCENARIOS.registerAuth,
      target: reg.a,
      domain: domainOf(reg.a),
      accounts: [{ user: 'alice', password: 'wrong-password' }],
      timeoutMs: 15_000,
      recvTimeoutMs: 3000
    })
    assert.equal(s.successfulCalls, 0, describeSipp(s))
    assert.equal(s.failedCalls, 1, describeSipp(s))
  })

  test('many users register in one sipp run (injection file)', async () => {
    const users = USERS.map(acct)
    const registerMany = {
      scenario: SCENARIOS.registerAuth,
      target: reg.a,
      domain: domainOf(reg.a),
      accounts: users,
      calls: users.length,
      rate: 50,
      expires: 60,
      // One port for both runs, so the unREGISTER names the same contacts.
      localPort: await freePort({ tcp: false }),
      timeoutMs: 15_000
    }
    const s = await runSipp(registerMany)
    assertAllOk(s, 'REGISTER x8', users.length)
    // Remove these bindings again: later tests register users at one side only.
    const gone = await runSipp({ ...registerMany, expires: 0 })
    assertAllOk(gone, 'unREGISTER x8', users.length)
  })

  test('OPTIONS to the registrar is answered 200', async () => {
    for (const side of new Set([reg.a, reg.b])) {
      const s = await runSipp({ scenario: SCENARIOS.options, target: side, timeoutMs: 10_000 })
      assertAllOk(s, `OPTIONS ${hostPort(side)}`)
    }
  })

  test('MESSAGE from a user registered at A reaches a user registered at B (200)', async () => {
    const receiver = await registeredServer('bob', reg.b, SCENARIOS.messageUas)
    const sender = await register('alice', reg.a)
    const s = await runSipp({
      scenario: SCENARIOS.message,
      target: reg.a,
      domain: domainOf(reg.b),
      localPort: sender.localPort,
      from: 'alice',
      service: 'bob',
      timeoutMs: 15_000
    })
    const r = await receiver.stop(5000)
    assertAllOk(s, 'MESSAGE sender')
    assertAllOk(r, 'MESSAGE receiver')
    assert.match(r.messageLog, /hello from alice #1/)
  })

  test('INVITE/180/200/ACK/BYE call between sipp UAs registered at A and B', async () => {
    const callee = await registeredServer('dave', reg.b, SCENARIOS.uasCall)
    const caller = await register('carol', reg.a)
    const s = await runSipp({
      scenario: SCENARIOS.uacCall,
      target: reg.a,
      domain: domainOf(reg.b),
      localPort: caller.localPort,
      from: 'carol',
      service: 'dave',
      holdMs: 500,
      defaultBehaviors: 'all',
      traceMessages: true,
      timeoutMs: 20_000
    })
    const r = await callee.stop(5000)
    assertAllOk(s, 'caller')
    assertAllOk(r, 'callee')
    const got = (st: SippStats, name: string): number => st.messages.find((m) => m.name.endsWith(`_${name}`))?.count ?? 0
    assert.equal(got(s, '180'), 1, `caller saw 180: ${describeSipp(s)}`)
    assert.equal(got(r, 'ACK'), 1, `callee got ACK: ${describeSipp(r)}`)
    assert.equal(got(r, 'BYE'), 1, `callee got BYE: ${describeSipp(r)}`)
    // a proxy that record-routes must be on the in-dialog path
    const rr = /^Record-Route:\s*(.+)$/im.exec(s.messageLog)
    if (rr) assert.match(s.messageLog, /^BYE [^\n]*\n(?:[^\n]+\n)*?Route:/m, 'BYE carries the route set')
  })

  test('baresip registers with digest auth and calls a sipp UAS', async () => {
    const callee = await registeredServer('frank', reg.b, SCENARIOS.uasCall)
    const phone = await startBaresip({ account: { ...acct('erin'), registrar: reg.a, domain: domainOf(reg.a) } })
    try {
      await phone.waitRegistered()
      await phone.dial(`sip:frank@${domainOf(reg.b)}`)
      await phone.waitForEvent('CALL_ESTABLISHED', { timeoutMs: 10_000 })
      await new Promise((r) => setTimeout(r, 500))
      await phone.hangup()
      const closed = await phone.waitForEvent('CALL_CLOSED', { timeoutMs: 10_000 })
      assert.ok(closed)
      const r = await callee.stop(5000)
      assertAllOk(r, 'sipp callee of baresip')
    } finally {
      await phone.stop()
      await callee.stop(0)
    }
  })

  test('a sipp UAC calls baresip (auto-answer) through the registrar', async () => {
    const phone = await startBaresip({ account: { ...acct('heidi'), registrar: reg.b, domain: domainOf(reg.b), answerMode: 'auto' } })
    try {
      await phone.waitRegistered()
      const caller = await register('grace', reg.a)
      const s = await runSipp({
        scenario: SCENARIOS.uacCall,
        target: reg.a,
        domain: domainOf(reg.b),
        localPort: caller.localPort,
        from: 'grace',
        service: 'heidi',
        holdMs: 500,
        defaultBehaviors: 'all',
        timeoutMs: 20_000
      })
      assertAllOk(s, 'sipp caller of baresip')
      await phone.waitForEvent('CALL_ESTABLISHED', { timeoutMs: 5000 })
      await phone.waitForEvent('CALL_CLOSED', { timeoutMs: 5000 })
    } finally {
      await phone.stop()
    }
  })
})
}
