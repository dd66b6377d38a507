/**
 * Call tones made with WebAudio, so no audio files ship: `ring` for an incoming
 * call (400+450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off) and `ringback`
 * while the far end rings without early media (440+480 Hz, 2 s on, 4 s off).
 */
export type TonePattern = 'ring' | 'ringback'

const PATTERNS: Record<TonePattern, { freqs: number[]; bursts: [at: number, length: number][]; periodS: number }> = {
  ring: { freqs: [400, 450], bursts: [[0, 0.4], [0.6, 0.4]], periodS: 3 },
  ringback: { freqs: [440, 480], bursts: [[0, 2]], periodS: 6 }
}

const LEVEL = 0.12

export class ToneGenerator {
  private ctx: AudioContext | null = null
  private playing: { pattern: TonePattern; stop: () => void } | null = null

  /** The context, for routing its output (`AudioContext.setSinkId`). */
  context(): AudioContext {
    return (this.ctx ??= new AudioContext())
  }

  start(pattern: TonePattern): void {
    if (this.playing?.pattern === pattern) return
    this.stop()
    const ctx = this.context()
    void ctx.resume().catch(() => undefined) // may stay suspended until the user interacts
    const { freqs, bursts, periodS } = PATTERNS[pattern]
    const gain = ctx.createGain()
    gain.gain.value = 0
    gain.connect(ctx.destination)
    const oscillators = freqs.map((f) => {
      const o = ctx.createOscillator()
      o.frequency.value = f
      o.connect(gain)
      o.start()
      return o
    })
    const schedule = () => {
      const t0 = ctx.currentTime + 0.05
      for (const [at, length] of bursts) {
        gain.gain.setValueAtTime(LEVEL, t0 + at)
        gain.gain.setValueAtTime(0, t0 + at + length)
      }
    }
    schedule()
    const timer = setInterval(schedule, periodS * 1000)
    this.playing = {
      pattern,
      stop: () => {
        clearInterval(timer)
        gain.gain.cancelScheduledValues(0)
        for (const o of oscillators) o.stop()
        gain.disconnect()
      }
    }
  }

  stop(): void {
    this.playing?.stop()
    this.playing = null
  }
}
