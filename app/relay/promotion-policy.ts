import type { Annoyance, SuperNodeMode } from '../api/contract.js'

export interface PolicyConfig {
  /** A node must have been up this long before it may promote (auto mode). */
  minUptimeS: number
  /** af must stay under (over) the threshold this long before promoting (demoting). */
  holdMs: number
  /** Enough super-nodes nearby: with at least this many sampled, promote only when they are busy. */
  targetSuperNodes: number
  /** Sampled super-nodes' mean load (used/capacity) above which more are needed anyway. */
  busyLoad: number
}

export const DEFAULT_POLICY: PolicyConfig = { minUptimeS: 600, holdMs: 60_000, targetSuperNodes: 8, busyLoad: 0.5 }

/** What the node saw of the other super-nodes (the relay topic's announcers and their offers). */
export interface ShareSample {
  superNodes: number
  meanLoad: number | null
}

export type Role = 'client' | 'super-node'
export interface Decision {
  role: Role
  reason: string
}

/**
 * When to become a super-node and when to step down. Promotion needs every one
 * of: reachable from outside, up long enough, af under the promotion threshold
 * for `holdMs`, no veto, and a need (too few super-nodes sampled, or the ones
 * sampled are busy) — so not every capable node promotes. Demotion happens when
 * af stays over the demotion threshold for `holdMs`, at once on a veto (battery,
 * "never relay"), when the node stops being reachable, or when the user says so.
 * The gap between the thresholds keeps a node from flapping.
 */
export class PromotionPolicy {
  private belowSince: number | null = null
  private aboveSince: number | null = null

  constructor(readonly config: PolicyConfig = DEFAULT_POLICY) {}

  decide(input: { role: Role; mode: SuperNodeMode; annoyance: Annoyance; share: ShareSample | null; now: number }): Decision {
    const { role, mode, annoyance: a, share, now } = input
    const { promote, demote } = a.thresholds
    this.belowSince = a.af < promote ? (this.belowSince ?? now) : null
    this.aboveSince = a.af > demote ? (this.aboveSince ?? now) : null
    const firewalled = a.inputs.firewalled

    if (mode === 'never') return { role: 'client', reason: 'super-node mode is never' }
    if (firewalled) return { role: 'client', reason: 'not reachable from outside (behind a NAT or firewall)' }
    if (a.veto) return { role: 'client', reason: a.veto === 'battery' ? 'on battery' : 'the user chose never to relay' }
    if (mode === 'always') return { role: 'super-node', reason: 'super-node mode is always, and reachable' }

    const heldMs = (since: number | null) => (since === null ? 0 : now - since)
    if (role === 'super-node') {
      if (heldMs(this.aboveSince) >= this.config.holdMs) {
        return { role: 'client', reason: `af ${a.af} > ${demote} for ${Math.round(heldMs(this.aboveSince) / 1000)} s` }
      }
      return { role: 'super-node', reason: `af ${a.af} ≤ ${demote}, reachable` }
    }
    if (a.inputs.uptimeS < this.config.minUptimeS) return { role: 'client', reason: `up ${a.inputs.uptimeS} s < ${this.config.minUptimeS} s` }
    if (heldMs(this.belowSince) < this.config.holdMs || this.belowSince === null) {
      return { role: 'client', reason: `af ${a.af} not yet under ${promote} for ${this.config.holdMs / 1000} s` }
    }
    if (share && share.superNodes >= this.config.targetSuperNodes && (share.meanLoad ?? 0) < this.config.busyLoad) {
      return { role: 'client', reason: `${share.superNodes} super-nodes nearby, mean load ${round2(share.meanLoad ?? 0)}: not needed` }
    }
    const need = share === null ? 'no sample yet' : share.superNodes < this.config.targetSuperNodes ? `only ${share.superNodes} super-nodes nearby` : `super-nodes busy (load ${round2(share.meanLoad ?? 0)})`
    return { role: 'super-node', reason: `af ${a.af} < ${promote} for ${this.config.holdMs / 1000} s, reachable, up ${a.inputs.uptimeS} s, ${need}` }
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100
}
