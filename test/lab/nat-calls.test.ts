/**
 * Real Parley calls across the NAT lab (test/lab/README.md, "Calls across
 * NATs"): six `parley serve --web` peers — no NAT, a cone NAT and a symmetric
 * NAT on each side — each driven through its own UI in a Chromium inside its
 * namespace, three super-nodes (TURN + blind relay) and a small DHT on public
 * hosts. Every pair L-x → R-y must connect with audio both ways (the goal of
 * issue 5: 100 %); symmetric ↔ symmetric can only be relayed. Then the relay
 * carrying a call is killed and the call must survive on a backup relay.
 *
 * Needs root (CI runs as root); fails, never skips, without it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { dominantReceivedFrequency } from '../helpers/browser.js'
import {
  NATS,
  TONE_HZ,
  TONE_TOLERANCE_HZ,
  hangUp,
  killRelayMidCall,
  placeCall,
  receiveDiagnostics,
  startCallLab,
  uiDiagnostics,
  type CallLab,
  type CallOutcome,
  type RelayKillOutcome
} from './call-lab.js'

const log = (line: string) => console.error(`[nat-calls] ${line}`)

describe('NAT lab: Parley calls between no-NAT, cone and symmetric peers, through super-nodes', () => {
  let lab: CallLab | undefined
  const calls: CallOutcome[] = []
  let kill: RelayKillOutcome | null = null

  before(async () => {
    lab = await startCallLab({ progress: log })
    for (const p of lab.peers.values()) log(`${p.name}: ${p.host.address} (seen as ${p.host.publicAddress}), firewalled ${p.firewalled}, randomized ${p.randomized}`)
  })

  after(async () => {
    if (calls.length) {
      log('matrix (caller ↓ callee →): path, dial→connected')
      for (const x of NATS) {
        const row = NATS.map((y) => {
          const c = calls.find((o) => o.from === `l-${x}` && o.to === `r-${y}`)
          return (c ? (c.error ? 'FAILED' : `${c.path} ${c.setupMs} ms`) : '-').padEnd(18)
        })
        log(`  l-${x.padEnd(9)} ${row.join(' ')}`)
      }
    }
    if (kill) log(`relay killed mid-call: ${kill.killed?.name ?? '-'} (${kill.reason}); media gap ${kill.caller.gapMs} / ${kill.callee.gapMs} ms, back after ${kill.caller.backAfterMs} / ${kill.callee.backAfterMs} ms; path after ${kill.pathAfter}`)
    if (lab) log(`process logs: ${lab.logDir}`)
    await lab?.close()
  })

  for (const x of NATS) {
    for (const y of NATS) {
      test(`l-${x} → r-${y}: the call connects and carries both tones`, async () => {
        const from = lab!.peer('l', x)
        const to = lab!.peer('r', y)
        const call = await placeCall(from, to)
        calls.push(call)
        try {
          assert.equal(call.error, null, call.error ?? '')
          assert.ok(call.connected && call.twoWay && call.tones)
          assert.ok(call.path, `${call.cell}: no selected candidate pair (caller ${call.callerPath})`)
          if (x === 'symmetric' && y === 'symmetric') {
            assert.equal(call.path, 'relayed', `${call.cell}: two symmetric NATs can only meet through a TURN relay, but the selected pair was ${call.callerPath}`)
          }
          log(`${call.cell}: ${call.path} (${call.callerPath}), connected after ${call.setupMs} ms, DTLS after ${call.mediaUpMs} ms`)
        } finally {
          await hangUp(from, to)
        }
      })
    }
  }

  test('a relay killed mid-call: the call survives on a backup relay (ICE restart)', async () => {
    const from = lab!.peer('l', 'symmetric')
    const to = lab!.peer('r', 'symmetric')
    const call = await placeCall(from, to)
    assert.equal(call.error, null, call.error ?? '')
    assert.equal(call.path, 'relayed', `${call.cell}: expected a relayed call to kill the relay of, got ${call.callerPath}`)

    kill = await killRelayMidCall(lab!, from, to, call, 30_000)
    assert.equal(kill.error, null, kill.error ?? '')
    assert.ok(kill.survived && kill.killed)
    log(`killed ${kill.killed.name} (${kill.reason}); inbound audio back after ${kill.caller.backAfterMs} ms at ${from.name}, ${kill.callee.backAfterMs} ms at ${to.name}; longest gap ${kill.caller.gapMs} / ${kill.callee.gapMs} ms`)

    // The media now runs through a live relay: a backup after a failover (ICE restart), or the
    // other side's own relay, a candidate pair ICE had already checked (no restart needed).
    assert.ok(!kill.pathAfter.includes(`${kill.killed.turn.host}:`), `${call.cell}: after the kill the path still names the dead relay ${kill.killed.turn.host}: ${kill.pathAfter}`)
    // Both UIs say so (the diagnostics sample the path every second).
    const [a, b] = await Promise.all(
      [from, to].map(async (p) => {
        let ui = await uiDiagnostics(p.page)
        for (const until = Date.now() + 10_000; ui.mediaPath !== 'relayed' && Date.now() < until; ) {
          await new Promise((r) => setTimeout(r, 500))
          ui = await uiDiagnostics(p.page)
        }
        assert.equal(ui.state, 'connected', `${call.cell}: ${p.name}'s call state after the recovery: ${JSON.stringify(ui)}`)
        assert.equal(ui.mediaPath, 'relayed', `${call.cell}: ${p.name}'s media path 10 s after the recovery: ${JSON.stringify(ui)}`)
        return ui
      })
    )
    const records = [...(a!.failovers as string[]), ...(b!.failovers as string[])]
    log(`recovery: ${records.length ? records.join('; ') : 'no ICE restart: ICE moved to another checked pair'}`)
    // …and both still hear the other's tone.
    // (a jitter buffer coming back from a long gap plays silence for a moment: sample a few times)
    const hears = async (page: typeof from.page, hz: number) => {
      let last = -1
      // Up to 20 s: gaps measured 3.4–9 s alone; under the full suite the symmetric callee was still silent after 15 s twice.
      for (const until = Date.now() + 20_000; Math.abs(last - hz) >= TONE_TOLERANCE_HZ && Date.now() < until; ) last = await dominantReceivedFrequency(page)
      return last
    }
    const [callerHears, calleeHears] = await Promise.all([hears(from.page, TONE_HZ.r), hears(to.page, TONE_HZ.l)])
    const callerOk = Math.abs(callerHears - TONE_HZ.r) < TONE_TOLERANCE_HZ
    const calleeOk = Math.abs(calleeHears - TONE_HZ.l) < TONE_TOLERANCE_HZ
    const [callerDiag, calleeDiag] = await Promise.all([receiveDiagnostics(from.page), receiveDiagnostics(to.page)])
    // Seen in CI after a long gap: WebAudio's tap of the remote track reads digital silence for
    // 30 s while WebRTC decodes and plays the same audio at the caller's level (stats below). Then
    // the decoded audio itself must be flowing: packets, played samples, almost no concealment.
    const flowing = (diag: Record<string, unknown>) => decodedAudioFlows(diag)
    // The fallback's evidence, for whoever finds the cause: which receiver, element and tracks the silent side had.
    if (!callerOk || !calleeOk) {
      const silent = [...(callerOk ? [] : [`${from.name} ${JSON.stringify(callerDiag)}`]), ...(calleeOk ? [] : [`${to.name} ${JSON.stringify(calleeDiag)}`])]
      log(`tone check: ${from.name} ${callerHears} Hz, ${to.name} ${calleeHears} Hz; decoded audio flowing: ${flowing(callerDiag)} / ${flowing(calleeDiag)}; ${silent.join('; ')}`)
    }
    assert.ok(
      (callerOk || flowing(callerDiag)) && (calleeOk || flowing(calleeDiag)),
      `${call.cell}: after the failover ${from.name} hears ${callerHears} Hz (want ${TONE_HZ.r}), ${to.name} hears ${calleeHears} Hz (want ${TONE_HZ.l}); ` +
        `${from.name} ${JSON.stringify(callerDiag)}, ${to.name} ${JSON.stringify(calleeDiag)}`
    )
    await hangUp(from, to)
  })
})

interface RtpSample {
  type: string
  packets?: number
  samples?: number
  concealed?: number
  level?: number
}

/** From receiveDiagnostics' two snapshots 1 s apart: audio arrives, is decoded and played, not concealed, and not silent. */
function decodedAudioFlows(diag: Record<string, unknown>): boolean {
  const [first, second] = (diag.rtp as RtpSample[][] | undefined) ?? []
  const a = first?.find((r) => r.type === 'inbound-rtp')
  const b = second?.find((r) => r.type === 'inbound-rtp')
  if (!a || !b) return false
  const played = (b.samples ?? 0) - (a.samples ?? 0)
  const concealed = (b.concealed ?? 0) - (a.concealed ?? 0)
  return (b.packets ?? 0) - (a.packets ?? 0) >= 25 && played >= 24_000 && concealed <= played / 10 && (b.level ?? 0) >= 0.005
}
