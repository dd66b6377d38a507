/// <reference lib="dom" />
import { writeFile } from 'node:fs/promises'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Debian Chromium with fake media devices (DESIGN.md: flags verified on these machines).
 * `loopback: false` for pages with real addresses (the NAT lab); `executablePath` to run
 * it elsewhere (inside a network namespace).
 */
export function launchChromium(opts: { fakeAudioWav?: string; loopback?: boolean; executablePath?: string; extraArgs?: string[] } = {}): Promise<Browser> {
  const args = [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    ...(opts.loopback === false ? [] : ['--allow-loopback-in-peer-connection']),
    '--autoplay-policy=no-user-gesture-required',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    ...(opts.fakeAudioWav ? [`--use-file-for-fake-audio-capture=${opts.fakeAudioWav}`] : []),
    ...(opts.extraArgs ?? [])
  ]
  return chromium.launch({ executablePath: opts.executablePath ?? CHROMIUM, args })
}

/**
 * tsx (esbuild with keepNames) wraps named inner functions of the callbacks we
 * hand to page.evaluate in `__name(fn, "name")`; the page needs that helper too.
 */
export const EVALUATE_SHIM = 'globalThis.__name = (fn) => fn'

/**
 * Test instrumentation injected before the app loads: keeps every
 * RTCPeerConnection the app creates, and taps each received audio stream with
 * an encoded transform so RFC 4733 telephone-events can be seen as they arrive
 * (WebRTC offers no other way to observe received DTMF).
 */
export const MEDIA_PROBE = `(() => {
  const Native = window.RTCPeerConnection
  window.__pcs = []
  window.__telephoneEvents = []
  const passThrough = (streams) => streams.readable.pipeTo(streams.writable).catch(() => {})
  const tapped = new WeakSet()
  function tapSender(sender) {
    if (!sender || tapped.has(sender)) return
    tapped.add(sender)
    try { passThrough(sender.createEncodedStreams()) } catch (e) { console.warn('sender tap', e) }
  }
  class Probed extends Native {
    constructor(config, ...rest) {
      super({ ...(config || {}), encodedInsertableStreams: true }, ...rest)
      window.__pcs.push(this)
      const telephoneEventPts = new Set()
      this.addEventListener('track', (e) => {
        if (tapped.has(e.receiver)) return
        tapped.add(e.receiver)
        const streams = e.receiver.createEncodedStreams()
        streams.readable.pipeThrough(new TransformStream({
          transform: (frame, out) => {
            const pt = frame.getMetadata().payloadType
            if (telephoneEventPts.size === 0 && this.remoteDescription) {
              for (const m of this.remoteDescription.sdp.matchAll(/a=rtpmap:(\\d+) telephone-event\\//g)) telephoneEventPts.add(Number(m[1]))
            }
            if (telephoneEventPts.has(pt)) {
              const bytes = new Uint8Array(frame.data)
              const md = frame.getMetadata()
              window.__telephoneEvents.push({ event: bytes[0], end: (bytes[1] & 0x80) !== 0, rtpTimestamp: md.rtpTimestamp ?? frame.timestamp })
            }
            out.enqueue(frame)
          }
        })).pipeTo(streams.writable).catch(() => {})
      })
    }
    addTrack(...args) { const s = super.addTrack(...args); tapSender(s); return s }
    addTransceiver(...args) { const t = super.addTransceiver(...args); tapSender(t.sender); return t }
    async setRemoteDescription(...args) { const r = await super.setRemoteDescription(...args); for (const s of this.getSenders()) tapSender(s); return r }
  }
  window.RTCPeerConnection = Probed
})()`

export interface AudioStats {
  packetsReceived: number
  totalAudioEnergy: number
  packetsSent: number
}

/** Inbound and outbound audio counters of the page's newest peer connection. */
export function audioStats(page: Page): Promise<AudioStats | null> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
    const pc = pcs[pcs.length - 1]
    if (!pc) return null
    const out = { packetsReceived: 0, totalAudioEnergy: 0, packetsSent: 0 }
    ;(await pc.getStats()).forEach((r: Record<string, unknown>) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.packetsReceived += Number(r.packetsReceived ?? 0)
        out.totalAudioEnergy += Number(r.totalAudioEnergy ?? 0)
      }
      if (r.type === 'outbound-rtp' && r.kind === 'audio') out.packetsSent += Number(r.packetsSent ?? 0)
    })
    return out
  })
}

/** The loudest frequency (Hz) in what the page receives, from a WebAudio analyser over ~1 s. */
export function dominantReceivedFrequency(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
    const pc = pcs[pcs.length - 1]
    const track = pc?.getReceivers().find((r) => r.track.kind === 'audio')?.track
    if (!track) return -1
    const ctx = new AudioContext()
    await ctx.resume()
    const analyser = ctx.createAnalyser()
    analyser.fftSize = 8192
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser)
    const sum = new Float32Array(analyser.frequencyBinCount)
    const bins = new Float32Array(analyser.frequencyBinCount)
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100))
      analyser.getFloatFrequencyData(bins)
      for (let b = 0; b < bins.length; b++) sum[b] = (sum[b] as number) + Math.pow(10, (bins[b] as number) / 20)
    }
    let best = 0
    for (let b = 1; b < sum.length; b++) if ((sum[b] as number) > (sum[best] as number)) best = b
    const hz = (best * ctx.sampleRate) / analyser.fftSize
    await ctx.close()
    return hz
  })
}

/**
 * The telephone-event codes received so far, one per event: all packets of an
 * event (updates and the repeated end packets, RFC 4733 §2.5.1) share its RTP timestamp.
 */
export function receivedTelephoneEvents(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const all = (window as unknown as { __telephoneEvents: Array<{ event: number; rtpTimestamp: number }> }).__telephoneEvents
    const seen = new Set<number>()
    const digits: number[] = []
    for (const e of all) {
      if (seen.has(e.rtpTimestamp)) continue
      seen.add(e.rtpTimestamp)
      digits.push(e.event)
    }
    return digits
  })
}

/**
 * A mono 16-bit PCM WAV of a sine tone, for Chromium's fake microphone. With
 * `beepMs`, the tone sounds only for that long at the start of every second.
 */
export async function writeToneWav(path: string, hz: number, seconds = 4, rate = 48_000, beepMs?: number): Promise<void> {
  const samples = seconds * rate
  const buf = Buffer.alloc(44 + samples * 2)
  buf.write('RIFF', 0)
  buf.writeUInt32LE(36 + samples * 2, 4)
  buf.write('WAVEfmt ', 8)
  buf.writeUInt32LE(16, 16)
  buf.writeUInt16LE(1, 20)
  buf.writeUInt16LE(1, 22)
  buf.writeUInt32LE(rate, 24)
  buf.writeUInt32LE(rate * 2, 28)
  buf.writeUInt16LE(2, 32)
  buf.writeUInt16LE(16, 34)
  buf.write('data', 36)
  buf.writeUInt32LE(samples * 2, 40)
  for (let i = 0; i < samples; i++) {
    const on = beepMs === undefined || i % rate < (beepMs * rate) / 1000
    buf.writeInt16LE(on ? Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12_000) : 0, 44 + i * 2)
  }
  await writeFile(path, buf)
}

/** Poll `probe` until `ok` holds; returns the last value. For outcomes, not for timing. */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await probe()
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
    last = await probe()
  }
  return last
}

/**
 * Level (dB, relative to full scale of the analyser) at each frequency in what
 * the page plays from the element `selector` (its srcObject), averaged over ~1 s.
 * Each value is the strongest bin within ±2 bins (≈ ±12 Hz) of the frequency.
 */
export function playedLevels(page: Page, selector: string, freqs: number[]): Promise<number[] | null> {
  return page.evaluate(
    async ({ selector, freqs }) => {
      const el = document.querySelector(selector) as HTMLMediaElement | null
      const stream = el?.srcObject as MediaStream | null
      if (!stream || stream.getAudioTracks().length === 0) return null
      const ctx = new AudioContext()
      await ctx.resume()
      const analyser = ctx.createAnalyser()
      analyser.fftSize = 8192
      analyser.smoothingTimeConstant = 0
      ctx.createMediaStreamSource(stream).connect(analyser)
      const sum = new Float32Array(analyser.frequencyBinCount)
      const bins = new Float32Array(analyser.frequencyBinCount)
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100))
        analyser.getFloatFrequencyData(bins)
        for (let b = 0; b < bins.length; b++) sum[b] = (sum[b] as number) + Math.pow(10, (bins[b] as number) / 20) / 10
      }
      const levels = freqs.map((hz) => {
        const centre = Math.round((hz * analyser.fftSize) / ctx.sampleRate)
        let best = 0
        for (let b = centre - 2; b <= centre + 2; b++) best = Math.max(best, (sum[b] as number | undefined) ?? 0)
        return 20 * Math.log10(best || 1e-12)
      })
      await ctx.close()
      return levels
    },
    { selector, freqs }
  )
}

/**
 * Start watching, in the page, whether the tone `hz` is heard in what the element
 * `selector` plays (following srcObject changes); `stopGapWatch` returns the longest
 * stretch (ms) it was missing. For measuring audio gaps, not for assertions on time.
 */
export function startGapWatch(page: Page, selector: string, hz: number, thresholdDb: number): Promise<void> {
  return page.evaluate(
    ({ selector, hz, thresholdDb }) => {
      const w = window as unknown as { __gapWatch?: { stop: () => number } }
      const ctx = new AudioContext()
      const analyser = ctx.createAnalyser()
      analyser.fftSize = 2048
      analyser.smoothingTimeConstant = 0
      const bins = new Float32Array(analyser.frequencyBinCount)
      let current: MediaStream | null = null
      let source: MediaStreamAudioSourceNode | null = null
      let lastHeard = performance.now()
      let longest = 0
      const timer = setInterval(() => {
        const el = document.querySelector(selector) as HTMLMediaElement | null
        const stream = (el?.srcObject as MediaStream | null) ?? null
        if (stream !== current) {
          source?.disconnect()
          source = stream && stream.getAudioTracks().length ? ctx.createMediaStreamSource(stream) : null
          source?.connect(analyser)
          current = stream
        }
        const now = performance.now()
        let heard = false
        if (source) {
          analyser.getFloatFrequencyData(bins)
          const centre = Math.round((hz * analyser.fftSize) / ctx.sampleRate)
          for (let b = centre - 1; b <= centre + 1; b++) if ((bins[b] ?? -200) > thresholdDb) heard = true
        }
        if (heard) {
          longest = Math.max(longest, now - lastHeard)
          lastHeard = now
        }
      }, 20)
      void ctx.resume()
      w.__gapWatch = {
        stop: () => {
          clearInterval(timer)
          void ctx.close()
          return Math.max(longest, performance.now() - lastHeard)
        }
      }
    },
    { selector, hz, thresholdDb }
  )
}

export function stopGapWatch(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __gapWatch: { stop: () => number } }).__gapWatch.stop())
}
