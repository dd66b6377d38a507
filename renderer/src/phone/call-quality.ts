/**
 * Call quality from an `RTCPeerConnection.getStats()` report, sampled once a
 * second. Structural types only (no DOM), so the logic runs under node:test.
 *
 * - round trip: the selected ICE candidate pair's `currentRoundTripTime` (STUN
 *   consent checks, RFC 7675), else the RTCP receiver report's `roundTripTime`;
 * - jitter: the inbound audio stream's interarrival jitter (RFC 3550 §6.4.1);
 * - loss: packets lost / expected over the interval since the previous sample.
 */
import { selectedPair, type StatsEntry } from './media-path.js'

export type { StatsEntry }

/** Cumulative counters kept between samples. */
export interface QualitySample {
  packetsLost: number
  packetsReceived: number
}

export interface CallQuality {
  rttMs: number | null
  jitterMs: number | null
  lossPct: number | null
  sample: QualitySample | null
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const ms = (seconds: number | null): number | null => (seconds === null ? null : Math.round(seconds * 10_000) / 10)

export function computeCallQuality(stats: Iterable<StatsEntry>, previous: QualitySample | null): CallQuality {
  const entries = [...stats]
  const pair = selectedPair(entries)
  const remote = entries.find((e) => e.type === 'remote-inbound-rtp' && (e.kind ?? 'audio') === 'audio')
  const rttS = num(pair?.currentRoundTripTime) ?? num(remote?.roundTripTime)

  const inbound = entries.find((e) => e.type === 'inbound-rtp' && (e.kind ?? e.mediaType) === 'audio')
  const jitterS = num(inbound?.jitter)
  const lost = num(inbound?.packetsLost)
  const received = num(inbound?.packetsReceived)
  const sample = lost !== null && received !== null ? { packetsLost: lost, packetsReceived: received } : null

  let lossPct: number | null = null
  if (sample) {
    const dLost = sample.packetsLost - (previous?.packetsLost ?? 0)
    const dReceived = sample.packetsReceived - (previous?.packetsReceived ?? 0)
    const expected = Math.max(0, dLost) + Math.max(0, dReceived)
    lossPct = expected > 0 ? Math.round((Math.max(0, dLost) / expected) * 1000) / 10 : null
  }
  return { rttMs: ms(rttS), jitterMs: ms(jitterS), lossPct, sample }
}
