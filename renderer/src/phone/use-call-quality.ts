import { useEffect, useState } from 'react'
import { computeCallQuality, type CallQuality, type QualitySample, type StatsEntry } from './call-quality.js'

/** Round trip, jitter and loss of the live call, sampled every second from `getStats()`. */
export function useCallQuality(pc: RTCPeerConnection | null): CallQuality | null {
  const [quality, setQuality] = useState<CallQuality | null>(null)
  useEffect(() => {
    setQuality(null)
    if (!pc) return
    let previous: QualitySample | null = null
    let live = true
    const sample = async () => {
      const report = await pc.getStats()
      if (!live) return
      const q = computeCallQuality(report.values() as Iterable<StatsEntry>, previous)
      previous = q.sample
      setQuality(q)
    }
    const timer = setInterval(() => void sample().catch(() => undefined), 1000)
    return () => {
      live = false
      clearInterval(timer)
    }
  }, [pc])
  return quality
}
