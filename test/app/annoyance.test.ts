import { test } from 'node:test'
import assert from 'node:assert/strict'
import { annoyance, THRESHOLDS } from '../../app/relay/annoyance.js'
import { PromotionPolicy } from '../../app/relay/promotion-policy.js'
import type { AnnoyanceInputs } from '../../app/api/contract.js'
import { DEFAULT_RELAY_LIMITS } from '../../app/api/contract.js'

const quiet: AnnoyanceInputs = {
  cpuProcess: 0.01,
  cpuSystem: 0.05,
  bytesInPerS: 0,
  bytesOutPerS: 0,
  relayBytesPerS: 0,
  relayedCalls: 0,
  uptimeS: 3600,
  firewalled: false,
  randomized: false,
  idleS: null,
  onBattery: null
}
const limits = DEFAULT_RELAY_LIMITS

test('af is 0 for an idle headless machine and stays in [0,1] under any load', () => {
  assert.equal(annoyance(quiet, limits).af, 0)
  const worst = annoyance({ ...quiet, cpuSystem: 1, bytesInPerS: 1e9, bytesOutPerS: 1e9, relayedCalls: 1e6, idleS: 0 }, limits)
  assert.ok(worst.af <= 1 && worst.af > 0.99, `af ${worst.af}`)
  const nonsense = annoyance({ ...quiet, cpuSystem: Number.NaN, idleS: -5 }, limits)
  assert.ok(nonsense.af >= 0 && nonsense.af <= 1)
})

test('each load term raises af, and an active user makes the same load weigh more', () => {
  const base = annoyance(quiet, limits).af
  for (const loaded of [{ cpuSystem: 0.7 }, { bytesInPerS: 200_000 }, { relayedCalls: 4 }]) {
    assert.ok(annoyance({ ...quiet, ...loaded }, limits).af > base, JSON.stringify(loaded))
  }
  const load = { ...quiet, cpuSystem: 0.6, relayedCalls: 2 }
  const unattended = annoyance(load, limits).af
  const active = annoyance({ ...load, idleS: 5 }, limits).af
  const away = annoyance({ ...load, idleS: 3600 }, limits).af
  assert.ok(active > unattended, `${active} > ${unattended}`)
  assert.equal(away, unattended)
})

test('battery and "never relay" veto: af is 1 whatever the load', () => {
  const battery = annoyance({ ...quiet, onBattery: true }, limits)
  assert.equal(battery.af, 1)
  assert.equal(battery.veto, 'battery')
  const never = annoyance(quiet, { ...limits, neverRelay: true })
  assert.equal(never.af, 1)
  assert.equal(never.veto, 'never-relay')
})

test('a full relay reaches the demotion threshold; a quarter-full one on an unattended machine does not', () => {
  assert.ok(annoyance({ ...quiet, relayedCalls: limits.relayMaxCalls }, limits).af >= THRESHOLDS.demote)
  assert.ok(annoyance({ ...quiet, relayedCalls: limits.relayMaxCalls / 4 }, limits).af < THRESHOLDS.promote)
})

function decide(policy: PromotionPolicy, role: 'client' | 'super-node', inputs: Partial<AnnoyanceInputs>, now: number, share = { superNodes: 0, meanLoad: null as number | null }) {
  return policy.decide({ role, mode: 'auto', annoyance: annoyance({ ...quiet, ...inputs }, limits), share, now })
}

test('promotion needs reachability, uptime, af held under the threshold, and a need for more super-nodes', () => {
  const policy = new PromotionPolicy({ minUptimeS: 600, holdMs: 60_000, targetSuperNodes: 8, busyLoad: 0.5 })
  assert.equal(decide(policy, 'client', { firewalled: true }, 0).role, 'client')
  assert.equal(decide(policy, 'client', { uptimeS: 100 }, 0).role, 'client')
  assert.equal(decide(policy, 'client', {}, 0).role, 'client', 'af under the threshold for 0 s')
  assert.equal(decide(policy, 'client', {}, 59_000).role, 'client')
  const now = decide(policy, 'client', {}, 60_000)
  assert.equal(now.role, 'super-node', now.reason)
  // Enough idle super-nodes nearby: stay a client; busy ones: promote.
  assert.equal(decide(policy, 'client', {}, 61_000, { superNodes: 9, meanLoad: 0.1 }).role, 'client')
  assert.equal(decide(policy, 'client', {}, 62_000, { superNodes: 9, meanLoad: 0.8 }).role, 'super-node')
  // A load spike resets the hold.
  decide(policy, 'client', { cpuSystem: 0.9, relayedCalls: 6 }, 63_000)
  assert.equal(decide(policy, 'client', {}, 64_000).role, 'client')
})

test('demotion: af held over the threshold, at once on battery, and never/always modes', () => {
  const policy = new PromotionPolicy({ minUptimeS: 0, holdMs: 10_000, targetSuperNodes: 8, busyLoad: 0.5 })
  const overloaded = { cpuSystem: 0.95, relayedCalls: 8, idleS: 0 }
  assert.equal(decide(policy, 'super-node', overloaded, 0).role, 'super-node', 'not yet held')
  assert.equal(decide(policy, 'super-node', overloaded, 10_000).role, 'client')
  assert.equal(decide(policy, 'super-node', { onBattery: true }, 20_000).role, 'client')
  assert.equal(decide(policy, 'super-node', { firewalled: true }, 21_000).role, 'client')
  const a = annoyance(quiet, limits)
  assert.equal(policy.decide({ role: 'super-node', mode: 'never', annoyance: a, share: null, now: 0 }).role, 'client')
  assert.equal(policy.decide({ role: 'client', mode: 'always', annoyance: annoyance({ ...quiet, uptimeS: 0 }, limits), share: null, now: 0 }).role, 'super-node')
  assert.equal(policy.decide({ role: 'client', mode: 'always', annoyance: annoyance({ ...quiet, onBattery: true }, limits), share: null, now: 0 }).role, 'client')
})
