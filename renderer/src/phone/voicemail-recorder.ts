import { MAX_VOICEMAIL_BYTES } from '../../../app/api/contract.js'

/** The longest voice message (issue 6): two minutes. */
export const VOICEMAIL_MAX_MS = 2 * 60_000
/** Opus, in the container the browser records: WebM (Chromium) or Ogg (Firefox). */
export const VOICEMAIL_MIMES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus'] as const
/** Speech at 24 kbit/s: two minutes is about 360 KB, well inside MAX_VOICEMAIL_BYTES. */
export const VOICEMAIL_BITS_PER_SECOND = 24_000
/** MediaRecorder hands data over this often, so the size can be watched while recording. */
const SLICE_MS = 500

export function pickVoicemailMime(isTypeSupported: (mime: string) => boolean): string | null {
  return VOICEMAIL_MIMES.find((m) => isTypeSupported(m)) ?? null
}

/** What the recorder needs of MediaRecorder and the microphone, so tests can drive a fake. */
export interface AudioCapture {
  start(sliceMs: number, onData: (chunk: Blob) => void, onStop: () => void, onError: (err: Error) => void): void
  /** Ask for the last data and the stop event. */
  stop(): void
  /** Close the microphone. */
  release(): void
}

export interface RecorderTimers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

export type StopReason = 'user' | 'time-limit' | 'size-limit'

export interface Recording {
  blob: Blob
  mime: string
  bytes: number
  durationMs: number
  stoppedBy: StopReason
}

export interface RecorderOptions {
  mime: string
  maxMs?: number
  maxBytes?: number
  now?: () => number
  timers?: RecorderTimers
}

const realTimers: RecorderTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>)
}

/**
 * One voice message being recorded; it starts when made.
 *
 *   recording ──stop() / 2 min / size──► stopping ──stop event──► stopped (done: the Recording)
 *   recording | stopping ──cancel()──► cancelled (done: null)
 *   recording | stopping ──capture error──► failed (done rejects)
 *
 * The size limit stops the recording while there is room for two more chunks
 * (the last flush after stop() is about one); should the flush still not fit,
 * trailing chunks are dropped, which leaves a playable prefix of the stream.
 */
export class VoicemailRecorder {
  readonly done: Promise<Recording | null>
  private phase: 'recording' | 'stopping' | 'stopped' | 'cancelled' | 'failed' = 'recording'
  private readonly chunks: Blob[] = []
  private bytes = 0
  private largestChunk = 0
  private readonly startedAt: number
  private stoppedAt: number | null = null
  private stoppedBy: StopReason = 'user'
  private readonly limitTimer: unknown
  private readonly maxMs: number
  private readonly maxBytes: number
  private readonly now: () => number
  private readonly timers: RecorderTimers
  private settle: (r: Recording | null) => void = () => undefined
  private fail: (err: Error) => void = () => undefined

  constructor(
    private readonly capture: AudioCapture,
    private readonly opts: RecorderOptions
  ) {
    this.maxMs = opts.maxMs ?? VOICEMAIL_MAX_MS
    this.maxBytes = opts.maxBytes ?? MAX_VOICEMAIL_BYTES
    this.now = opts.now ?? Date.now
    this.timers = opts.timers ?? realTimers
    this.done = new Promise((resolve, reject) => ((this.settle = resolve), (this.fail = reject)))
    this.startedAt = this.now()
    this.limitTimer = this.timers.set(() => void this.stop('time-limit'), this.maxMs)
    capture.start(
      SLICE_MS,
      (chunk) => this.onData(chunk),
      () => this.onStopped(),
      (err) => this.onError(err)
    )
  }

  /** For the timer display: stands still once stopped. */
  elapsedMs(): number {
    return Math.min(this.maxMs, (this.stoppedAt ?? this.now()) - this.startedAt)
  }

  recordedBytes(): number {
    return this.bytes
  }

  stop(reason: StopReason = 'user'): Promise<Recording | null> {
    if (this.phase === 'recording') {
      this.phase = 'stopping'
      this.stoppedBy = reason
      this.stoppedAt = Math.min(this.now(), this.startedAt + this.maxMs)
      this.timers.clear(this.limitTimer)
      this.capture.stop()
    }
    return this.done
  }

  cancel(): void {
    if (this.phase !== 'recording' && this.phase !== 'stopping') return
    const wasRecording = this.phase === 'recording'
    this.phase = 'cancelled'
    this.timers.clear(this.limitTimer)
    if (wasRecording) this.capture.stop()
    this.capture.release()
    this.settle(null)
  }

  private onData(chunk: Blob): void {
    if (this.phase !== 'recording' && this.phase !== 'stopping') return
    if (chunk.size === 0) return
    this.chunks.push(chunk)
    this.bytes += chunk.size
    this.largestChunk = Math.max(this.largestChunk, chunk.size)
    if (this.phase === 'recording' && this.bytes + 2 * this.largestChunk > this.maxBytes) void this.stop('size-limit')
  }

  private onStopped(): void {
    if (this.phase !== 'stopping' && this.phase !== 'recording') return
    if (this.phase === 'recording') {
      // Stopped without being asked (the track ended): keep what there is.
      this.stoppedAt = this.now()
      this.timers.clear(this.limitTimer)
    }
    this.phase = 'stopped'
    this.capture.release()
    const total = this.bytes
    while (this.bytes > this.maxBytes && this.chunks.length) this.bytes -= (this.chunks.pop() as Blob).size
    const measured = this.elapsedMs()
    const durationMs = total === this.bytes || total === 0 ? measured : Math.round((measured * this.bytes) / total)
    this.settle({ blob: new Blob(this.chunks, { type: this.opts.mime }), mime: this.opts.mime, bytes: this.bytes, durationMs, stoppedBy: this.stoppedBy })
  }

  private onError(err: Error): void {
    if (this.phase !== 'recording' && this.phase !== 'stopping') return
    this.phase = 'failed'
    this.timers.clear(this.limitTimer)
    this.capture.release()
    this.fail(err)
  }
}

/** MediaRecorder over a microphone stream, as an AudioCapture. */
export function mediaRecorderCapture(stream: MediaStream, mime: string): AudioCapture {
  const recorder = new MediaRecorder(stream, { mimeType: mime, audioBitsPerSecond: VOICEMAIL_BITS_PER_SECOND })
  return {
    start(sliceMs, onData, onStop, onError) {
      recorder.ondataavailable = (e) => onData(e.data)
      recorder.onstop = () => onStop()
      recorder.onerror = (e) => onError(new Error(`recording failed: ${(e as ErrorEvent).message || e.type}`))
      recorder.start(sliceMs)
    },
    stop() {
      if (recorder.state !== 'inactive') recorder.stop()
    },
    release() {
      for (const t of stream.getTracks()) t.stop()
    }
  }
}

/** Open the microphone (the user's chosen one) and start recording a voice message. */
export async function startVoicemailRecording(openInput: () => Promise<MediaStream>): Promise<VoicemailRecorder> {
  if (typeof MediaRecorder === 'undefined') throw new Error('this browser cannot record audio')
  const mime = pickVoicemailMime((m) => MediaRecorder.isTypeSupported(m))
  if (!mime) throw new Error('this browser cannot record Opus audio')
  const stream = await openInput()
  try {
    return new VoicemailRecorder(mediaRecorderCapture(stream, mime), { mime })
  } catch (err) {
    for (const t of stream.getTracks()) t.stop()
    throw err
  }
}
