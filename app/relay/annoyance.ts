import type { Annoyance, AnnoyanceInputs, RelayLimits } from '../api/contract.js'

/**
 * af(): how much the owner of this machine would notice it relaying for others,
 * from 0 (nobody would) to 1 (they would, or must not be asked). OpenVoIP's
 * "user annoyance" idea; the formula and its reasoning are in docs/relay.md.
 *
 *   load terms  cpu = ramp(system CPU, 25 %, 85 %)
 *               bandwidth = traffic / the user's relay budget
 *               calls = relayed calls / the user's call limit
 *   presence    interactivity = 1 while the user is active, fading to 0 after 10 min idle
 *   af = 1 − (1 − 0.15·interactivity) · Π (1 − w·load),  w = 0.6 + 0.4·interactivity
 *   vetoes      on battery, "never relay" → af = 1
 */
export const THRESHOLDS = { promote: 0.3, demote: 0.6 } as const

const CPU_IDLE = 0.25
const CPU_BUSY = 0.85
const ACTIVE_IDLE_S = 60
const AWAY_IDLE_S = 600
const PRESENCE_WEIGHT = 0.15
const BASE_LOAD_WEIGHT = 0.6

/** 0 at or below `lo`, 1 at or above `hi`, linear between. */
function ramp(x: number, lo: number, hi: number): number {
  if (!Number.isFinite(x)) return 1
  return Math.min(1, Math.max(0, (x - lo) / (hi - lo)))
}

export function annoyance(inputs: AnnoyanceInputs, limits: RelayLimits, thresholds: { promote: number; demote: number } = THRESHOLDS): Annoyance {
  const kbps = ((inputs.bytesInPerS + inputs.bytesOutPerS) * 8) / 1000
  const terms = {
    cpu: ramp(inputs.cpuSystem, CPU_IDLE, CPU_BUSY),
    bandwidth: ramp(kbps, 0, limits.relayMaxKbps),
    calls: limits.relayMaxCalls > 0 ? ramp(inputs.relayedCalls, 0, limits.relayMaxCalls) : 1,
    interactivity: inputs.idleS === null ? 0 : 1 - ramp(inputs.idleS, ACTIVE_IDLE_S, AWAY_IDLE_S)
  }
  const weight = BASE_LOAD_WEIGHT + (1 - BASE_LOAD_WEIGHT) * terms.interactivity
  const untouched = (1 - PRESENCE_WEIGHT * terms.interactivity) * (1 - weight * terms.cpu) * (1 - weight * terms.bandwidth) * (1 - weight * terms.calls)
  const veto = limits.neverRelay ? 'never-relay' : inputs.onBattery === true ? 'battery' : null
  const af = veto ? 1 : round(1 - untouched)
  return { af, terms: mapValues(terms, round), veto, inputs, limits, thresholds: { ...thresholds } }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000
}

function mapValues<T extends Record<string, number>>(o: T, f: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T
}
