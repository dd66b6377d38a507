import { cpus } from 'node:os'
import type { AnnoyanceInputs } from '../api/contract.js'

/** Counters the sampler reads; each is cumulative since start. */
export interface CapacitySources {
  /** Overlay traffic: HyperDHT's UDX socket counters. */
  traffic: () => { bytesIn: number; bytesOut: number }
  /** Bytes relayed for others (TURN + blind relay), cumulative. */
  relayBytes: () => number
  relayedCalls: () => number
  nat: () => { firewalled: boolean; randomized: boolean }
  /** Seconds since the user's last input; null in the headless daemon. */
  idleS?: () => number | null
  /** null when the machine cannot tell (headless, no battery). */
  onBattery?: () => boolean | null
  /** Replaces the measured CPU shares (0–1), used as given (unsmoothed); for tests and simulated machines. */
  cpuLoad?: () => { process: number; system: number }
  /**
   * Whose CPU load annoys: 'system' (default: a user's machine, busy with anything)
   * or 'own' (this process only: a dedicated super-node host, or a lab where many
   * simulated machines share one CPU).
   */
  cpuBasis?: CpuBasis
  /** Time constant of the moving averages: bursts shorter than this barely move af. */
  smoothingS?: number
  now?: () => number
}

export type CpuBasis = 'system' | 'own'

type Rates = { cpuProcess: number; cpuSystem: number; bytesInPerS: number; bytesOutPerS: number; relayBytesPerS: number }

interface Snapshot {
  at: number
  processCpuUs: number
  cpuBusy: number
  cpuTotal: number
  bytesIn: number
  bytesOut: number
  relayBytes: number
}

/**
 * Cheap, continuous measurements for af(): one call to `sample()` reads a handful
 * of counters (process.cpuUsage, os.cpus, UDX byte counts) and turns their change
 * since the previous call into rates. Nothing here spawns or polls the system.
 */
export class CapacitySampler {
  private previous: Snapshot
  private readonly startedAt: number
  private averages: Rates | null = null

  constructor(private readonly sources: CapacitySources) {
    this.previous = this.snapshot()
    this.startedAt = this.previous.at
  }

  private now(): number {
    return this.sources.now?.() ?? Date.now()
  }

  private snapshot(): Snapshot {
    const usage = process.cpuUsage()
    let busy = 0
    let total = 0
    for (const cpu of cpus()) {
      const t = cpu.times
      busy += t.user + t.nice + t.sys + t.irq
      total += t.user + t.nice + t.sys + t.irq + t.idle
    }
    const traffic = this.sources.traffic()
    return {
      at: this.now(),
      processCpuUs: usage.user + usage.system,
      cpuBusy: busy,
      cpuTotal: total,
      bytesIn: traffic.bytesIn,
      bytesOut: traffic.bytesOut,
      relayBytes: this.sources.relayBytes()
    }
  }

  /** Rates since the previous sample; the first sample covers the time since construction. */
  sample(): AnnoyanceInputs {
    const next = this.snapshot()
    const prev = this.previous
    const seconds = Math.max((next.at - prev.at) / 1000, 0.001)
    const cores = Math.max(cpus().length, 1)
    const cpuTotal = next.cpuTotal - prev.cpuTotal
    const nat = this.sources.nat()
    const averaged = this.average(seconds, {
      cpuProcess: (next.processCpuUs - prev.processCpuUs) / 1e6 / seconds / cores,
      cpuSystem: cpuTotal > 0 ? (next.cpuBusy - prev.cpuBusy) / cpuTotal : 0,
      bytesInPerS: (next.bytesIn - prev.bytesIn) / seconds,
      bytesOutPerS: (next.bytesOut - prev.bytesOut) / seconds,
      relayBytesPerS: (next.relayBytes - prev.relayBytes) / seconds
    })
    const system = this.sources.cpuBasis === 'own' ? averaged.cpuProcess : averaged.cpuSystem
    const cpu = this.sources.cpuLoad?.() ?? { process: averaged.cpuProcess, system }
    const inputs: AnnoyanceInputs = {
      cpuProcess: clamp01(cpu.process),
      cpuSystem: clamp01(cpu.system),
      bytesInPerS: rate(averaged.bytesInPerS),
      bytesOutPerS: rate(averaged.bytesOutPerS),
      relayBytesPerS: rate(averaged.relayBytesPerS),
      relayedCalls: this.sources.relayedCalls(),
      uptimeS: Math.round((next.at - this.startedAt) / 1000),
      firewalled: nat.firewalled,
      randomized: nat.randomized,
      idleS: this.sources.idleS?.() ?? null,
      onBattery: this.sources.onBattery?.() ?? null
    }
    this.previous = next
    return inputs
  }

  /** Exponential moving averages, weighted by the time each sample covers; they start from 0. */
  private average(seconds: number, latest: Rates): Rates {
    const alpha = 1 - Math.exp(-seconds / (this.sources.smoothingS ?? 30))
    const prev = this.averages ?? { cpuProcess: 0, cpuSystem: 0, bytesInPerS: 0, bytesOutPerS: 0, relayBytesPerS: 0 }
    const next = Object.fromEntries(
      Object.entries(latest).map(([k, v]) => [k, prev[k as keyof Rates] + alpha * ((Number.isFinite(v) ? Math.max(0, v) : 0) - prev[k as keyof Rates])])
    ) as Rates
    this.averages = next
    return next
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, Math.round(x * 1000) / 1000)) : 0
}

function rate(perSecond: number): number {
  return Math.max(0, Math.round(perSecond))
}
