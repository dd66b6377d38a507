/**
 * The mixer's audio: N−1 mixes in WebAudio. Every member gets the mix of
 * everyone but themselves (no echo of one's own voice), the mixer's user
 * hears every member, and each mix is normalised — inputs scaled by 1/√k for
 * k talkers and a limiter at the end — so adding people does not clip.
 */

interface Input {
  source: MediaStreamAudioSourceNode
  analyser: AnalyserNode
  /** Chromium renders a remote WebRTC stream into WebAudio only while a media element plays it. */
  sink: HTMLAudioElement | null
}

interface Output {
  edges: Map<string, GainNode>
  sum: GainNode
  limiter: DynamicsCompressorNode
  dest: MediaStreamAudioDestinationNode
  /** Per-source level this listener asked for (1 = as mixed). */
  volumes: Map<string, number>
}

/** The mixer's own microphone, as an input id no SIP address can be. */
export const SELF = '@self'
/** RMS above this is "speaking" (about −34 dBFS). */
const SPEAKING_RMS = 0.02

export class MixerGraph {
  readonly ctx = new AudioContext({ latencyHint: 'interactive' })
  private readonly inputs = new Map<string, Input>()
  private readonly outputs = new Map<string, Output>()
  private readonly samples = new Float32Array(512)
  private micMuted = false

  constructor(mic: MediaStream) {
    this.outputs.set(SELF, this.newOutput())
    this.setInput(SELF, mic, false)
  }

  /** What the mixer's user hears: every member, not their own microphone. */
  get localStream(): MediaStream {
    return this.outputs.get(SELF)!.dest.stream
  }

  /** A member's mix, to send them; made before their audio arrives. */
  addListener(id: string): MediaStreamTrack {
    let out = this.outputs.get(id)
    if (!out) {
      out = this.newOutput()
      this.outputs.set(id, out)
      for (const source of this.inputs.keys()) if (source !== id) this.connect(source, id)
      this.normalise(out)
    }
    return out.dest.stream.getAudioTracks()[0]!
  }

  /** A member's (or, for SELF, the microphone's) audio, mixed into everyone else's. */
  setInput(id: string, stream: MediaStream, remote = true): void {
    this.dropInput(id)
    const source = this.ctx.createMediaStreamSource(stream)
    const analyser = this.ctx.createAnalyser()
    analyser.fftSize = this.samples.length
    source.connect(analyser)
    let sink: HTMLAudioElement | null = null
    if (remote) {
      sink = new Audio()
      sink.muted = true
      sink.srcObject = stream
      void sink.play().catch(() => undefined)
    }
    this.inputs.set(id, { source, analyser, sink })
    for (const listener of this.outputs.keys()) if (listener !== id) this.connect(id, listener)
    for (const out of this.outputs.values()) this.normalise(out)
    if (id === SELF) this.muteMic(this.micMuted)
  }

  removeMember(id: string): void {
    this.dropInput(id)
    const out = this.outputs.get(id)
    if (out && id !== SELF) {
      for (const edge of out.edges.values()) edge.disconnect()
      out.sum.disconnect()
      out.limiter.disconnect()
      this.outputs.delete(id)
    }
    for (const o of this.outputs.values()) this.normalise(o)
  }

  muteMic(muted: boolean): void {
    this.micMuted = muted
    for (const out of this.outputs.values()) {
      const edge = out.edges.get(SELF)
      if (edge) this.normalise(out)
    }
  }

  /** How loud `source` is in `listener`'s mix (0–2). */
  setVolume(listener: string, source: string, volume: number): void {
    const out = this.outputs.get(listener)
    if (!out) return
    out.volumes.set(source, Math.min(2, Math.max(0, volume)))
    this.normalise(out)
  }

  /** Inputs whose level is above the speaking threshold right now. */
  speaking(): Set<string> {
    const loud = new Set<string>()
    for (const [id, input] of this.inputs) {
      if (id === SELF && this.micMuted) continue
      input.analyser.getFloatTimeDomainData(this.samples)
      let sum = 0
      for (const s of this.samples) sum += s * s
      if (Math.sqrt(sum / this.samples.length) > SPEAKING_RMS) loud.add(id)
    }
    return loud
  }

  async close(): Promise<void> {
    for (const id of [...this.inputs.keys()]) this.dropInput(id)
    await this.ctx.close().catch(() => undefined)
  }

  private newOutput(): Output {
    const sum = this.ctx.createGain()
    // A limiter, not a compressor: transparent below −6 dBFS, catches peaks above.
    const limiter = this.ctx.createDynamicsCompressor()
    limiter.threshold.value = -6
    limiter.knee.value = 0
    limiter.ratio.value = 20
    limiter.attack.value = 0.002
    limiter.release.value = 0.1
    const dest = this.ctx.createMediaStreamDestination()
    sum.connect(limiter).connect(dest)
    return { edges: new Map(), sum, limiter, dest, volumes: new Map() }
  }

  private connect(source: string, listener: string): void {
    const input = this.inputs.get(source)
    const out = this.outputs.get(listener)
    if (!input || !out || out.edges.has(source)) return
    const edge = this.ctx.createGain()
    input.source.connect(edge).connect(out.sum)
    out.edges.set(source, edge)
  }

  private dropInput(id: string): void {
    const input = this.inputs.get(id)
    if (!input) return
    input.source.disconnect()
    if (input.sink) input.sink.srcObject = null
    this.inputs.delete(id)
    for (const out of this.outputs.values()) {
      out.edges.get(id)?.disconnect()
      out.edges.delete(id)
    }
  }

  /** 1/√k for k inputs: uncorrelated voices add up by about √k. */
  private normalise(out: Output): void {
    const k = Math.max(1, out.edges.size)
    for (const [source, edge] of out.edges) {
      const muted = source === SELF && this.micMuted
      edge.gain.setTargetAtTime(muted ? 0 : (out.volumes.get(source) ?? 1) / Math.sqrt(k), this.ctx.currentTime, 0.01)
    }
  }
}
