import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_VOICEMAIL_BYTES } from '../../app/api/contract.js'
import {
  pickVoicemailMime,
  VOICEMAIL_MAX_MS,
  VoicemailRecorder,
  type AudioCapture,
  type RecorderTimers
} from '../../renderer/src/phone/voicemail-recorder.js'

/** A MediaRecorder stand-in: the test decides when chunks arrive and when the stop event fires. */
class FakeCapture implements AudioCapture {
  sliceMs = -1
  stops = 0
  released = 0
  private onData: (chunk: Blob) => void = () => undefined
  private onStop: () => void = () => undefined
  private onError: (err: Error) => void = () => undefined
  /** Bytes MediaRecorder flushes when stopped. */
  constructor(private readonly finalChunk = 0) {}
  start(sliceMs: number, onData: (chunk: Blob) => void, onStop: () => void, onError: (err: Error) => void): void {
    this.sliceMs = sliceMs
    this.onData = onData
    this.onStop = onStop
    this.onError = onError
  }
  stop(): void {
    this.stops++
    // Like MediaRecorder: the last dataavailable, then stop, asynchronously.
    queueMicrotask(() => {
      if (this.finalChunk) this.onData(new Blob([new Uint8Array(this.finalChunk)]))
      this.onStop()
    })
  }
  release(): void {
    this.released++
  }
  emit(bytes: number, fill = 0): void {
    this.onData(new Blob([new Uint8Array(bytes).fill(fill)]))
  }
  fail(message: string): void {
    this.onError(new Error(message))
  }
}

/** A clock and timers the test moves by hand. */
function fakeTime() {
  let now = 1_000_000
  const pending = new Map<number, { at: number; fn: () => void }>()
  let next = 1
  const timers: RecorderTimers = {
    set: (fn, ms) => (pending.set(next, { at: now + ms, fn }), next++),
    clear: (handle) => void pending.delete(handle as number)
  }
  return {
    now: () => now,
    timers,
    advance(ms: number) {
      now += ms
      for (const [id, t] of [...pending]) {
        if (t.at > now) continue
        pending.delete(id)
        t.fn()
      }
    },
    pendingTimers: () => pending.size
  }
}

const MIME = 'audio/webm;codecs=opus'

test('the codec: Opus in WebM where the browser has it, else Opus in Ogg, else none', () => {
  assert.equal(pickVoicemailMime(() => true), 'audio/webm;codecs=opus')
  assert.equal(pickVoicemailMime((m) => m === 'audio/ogg;codecs=opus'), 'audio/ogg;codecs=opus')
  assert.equal(pickVoicemailMime(() => false), null)
})

test('stop by the user: every chunk in order, the measured duration, the microphone released', async () => {
  const t = fakeTime()
  const capture = new FakeCapture(10)
  const rec = new VoicemailRecorder(capture, { mime: MIME, now: t.now, timers: t.timers })
  assert.ok(capture.sliceMs > 0, 'records in slices so the size can be watched')
  capture.emit(3, 1)
  t.advance(1500)
  assert.equal(rec.elapsedMs(), 1500)
  capture.emit(2, 2)
  t.advance(1700)
  const done = await rec.stop()
  assert.ok(done)
  assert.equal(done.stoppedBy, 'user')
  assert.equal(done.durationMs, 3200)
  assert.equal(done.mime, MIME)
  assert.equal(done.blob.type, MIME)
  assert.deepEqual([...new Uint8Array(await done.blob.arrayBuffer())], [1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  assert.equal(done.bytes, 15)
  assert.equal(capture.released, 1)
  assert.equal(t.pendingTimers(), 0, 'the 2-minute timer is cleared')
  t.advance(5000)
  assert.equal(rec.elapsedMs(), 3200, 'the timer display stops with the recording')
  assert.equal(await rec.stop(), done, 'stopping twice gives the same recording')
  assert.equal(capture.stops, 1)
})

test('recording stops by itself at 2 minutes', async () => {
  const t = fakeTime()
  const capture = new FakeCapture(100)
  const rec = new VoicemailRecorder(capture, { mime: MIME, now: t.now, timers: t.timers })
  for (let s = 0; s < 119; s++) {
    t.advance(1000)
    capture.emit(3000)
  }
  assert.equal(capture.stops, 0)
  t.advance(1000)
  assert.equal(capture.stops, 1)
  const done = await rec.done
  assert.equal(done?.stoppedBy, 'time-limit')
  assert.equal(done?.durationMs, VOICEMAIL_MAX_MS)
  assert.equal(VOICEMAIL_MAX_MS, 120_000)
  assert.equal(capture.released, 1)
})

test('recording stops before the recording outgrows MAX_VOICEMAIL_BYTES, leaving room for the last flush', async () => {
  const t = fakeTime()
  const capture = new FakeCapture(60_000)
  const rec = new VoicemailRecorder(capture, { mime: MIME, now: t.now, timers: t.timers })
  let sent = 0
  while (capture.stops === 0 && sent < 20) {
    t.advance(1000)
    capture.emit(60_000)
    sent++
  }
  assert.equal(capture.stops, 1, 'stopped by size')
  assert.ok(sent * 60_000 + 2 * 60_000 > MAX_VOICEMAIL_BYTES && (sent - 1) * 60_000 + 2 * 60_000 <= MAX_VOICEMAIL_BYTES, `stopped after ${sent} chunks`)
  const done = await rec.done
  assert.equal(done?.stoppedBy, 'size-limit')
  assert.ok(done && done.bytes <= MAX_VOICEMAIL_BYTES && done.blob.size === done.bytes)
  assert.equal(done?.bytes, (sent + 1) * 60_000, 'the last flush fits and is kept')
})

test('a last flush larger than the room left is dropped (a playable prefix), and the duration scaled to what is kept', async () => {
  const t = fakeTime()
  const capture = new FakeCapture(80_000)
  const rec = new VoicemailRecorder(capture, { mime: MIME, now: t.now, timers: t.timers, maxBytes: 100_000 })
  capture.emit(10_000)
  t.advance(4000)
  capture.emit(20_000)
  t.advance(1000)
  assert.equal(capture.stops, 0)
  const done = await rec.stop()
  assert.equal(done?.stoppedBy, 'user')
  assert.equal(done?.bytes, 30_000)
  assert.equal(done?.blob.size, 30_000)
  assert.equal(done?.durationMs, Math.round((5000 * 30_000) / 110_000))
})

test('cancel discards the recording and releases the microphone; later chunks are ignored', async () => {
  const t = fakeTime()
  const capture = new FakeCapture(10)
  const rec = new VoicemailRecorder(capture, { mime: MIME, now: t.now, timers: t.timers })
  capture.emit(100)
  rec.cancel()
  assert.equal(await rec.done, null)
  assert.equal(capture.stops, 1)
  assert.equal(capture.released, 1)
  assert.equal(await rec.stop(), null)
  assert.equal(t.pendingTimers(), 0)
  capture.emit(50)
  assert.equal(rec.recordedBytes(), 100)
})

test('a capture error ends the recording with that error and releases the microphone', async () => {
  const t = fakeTime()
  const capture = new FakeCapture()
  const rec = new VoicemailRecorder(capture, { mime: MIME, now: t.now, timers: t.timers })
  capture.fail('device lost')
  await assert.rejects(rec.done, /device lost/)
  assert.equal(capture.released, 1)
  assert.equal(t.pendingTimers(), 0)
})
