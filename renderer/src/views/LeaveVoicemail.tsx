import { useEffect, useRef, useState } from 'react'
import type { Voicemail } from '../../../app/api/contract.js'
import { errorText, useApi, useApiEvent } from '../api.js'
import { blobToBase64 } from '../phone/audio-base64.js'
import type { AudioDevices } from '../phone/devices.js'
import { startVoicemailRecording, VOICEMAIL_MAX_MS, type Recording, type StopReason, type VoicemailRecorder } from '../phone/voicemail-recorder.js'
import { formatDuration } from './CallPanel.js'
import './voicemail.css'

export interface VoicemailTarget {
  /** The call that was not answered: one offer per call. */
  callId: string
  peer: string
  peerName: string | null
}

/**
 * The panel after an unanswered call:
 *
 *   offer ──Leave a voice message──► starting ──microphone open──► recording
 *   recording ──Stop / 2 min / size──► recorded ──Send──► sending ──► sent (stored | delivered | failed)
 *   recording ──Send──► sending          recorded ──Record again──► starting
 *   any ──Cancel / No thanks / Close──► (gone); errors show with Close
 */
export type LeaveStage =
  | { kind: 'offer' }
  | { kind: 'starting' }
  | { kind: 'recording'; recorder: VoicemailRecorder }
  | { kind: 'recorded'; recording: Recording }
  | { kind: 'sending'; durationMs: number }
  | { kind: 'sent'; voicemail: Voicemail }
  | { kind: 'error'; message: string }

const STOPPED_BY: Record<StopReason, string> = {
  user: '',
  'time-limit': ' (stopped at the 2-minute limit)',
  'size-limit': ' (stopped at the size limit)'
}

function useTicker(active: boolean, ms = 250): void {
  const [, setTick] = useState(0)
  useEffect(() => {
    if (!active) return
    const t = setInterval(() => setTick((n) => n + 1), ms)
    return () => clearInterval(t)
  }, [active, ms])
}

export interface LeaveVoicemailProps {
  target: VoicemailTarget
  devices: AudioDevices
  /** A call is up: an offer nobody took up gives way to it. */
  inCall: boolean
  /** The voicemail as the peer took it, for the voicemail list. */
  onSent: (v: Voicemail) => void
  onClose: () => void
}

export function LeaveVoicemail({ target, devices, inCall, onSent, onClose }: LeaveVoicemailProps) {
  const api = useApi()
  const [stage, setStage] = useState<LeaveStage>({ kind: 'offer' })
  const recorderRef = useRef<VoicemailRecorder | null>(null)
  const who = target.peerName ?? target.peer.replace(/^sips?:/, '')
  useTicker(stage.kind === 'recording')

  // Closing the panel (or the app) while recording drops the recording and frees the microphone.
  useEffect(() => () => recorderRef.current?.cancel(), [])
  // A new call takes the place of an offer nobody took up (or of a result already seen).
  useEffect(() => {
    if (inCall && (stage.kind === 'offer' || stage.kind === 'sent')) onClose()
  }, [inCall, stage.kind, onClose])
  // The peer reports the delivery state as it changes (sending → stored).
  useApiEvent('voicemail', (v) => setStage((s) => (s.kind === 'sent' && s.voicemail.id === v.id ? { kind: 'sent', voicemail: v } : s)))

  const record = async () => {
    setStage({ kind: 'starting' })
    try {
      const recorder = await startVoicemailRecording(() => devices.openInput())
      recorderRef.current = recorder
      setStage({ kind: 'recording', recorder })
      const recording = await recorder.done
      if (recorderRef.current !== recorder) return
      recorderRef.current = null
      // null: cancelled, the panel is closing; a send in progress moved on by itself.
      if (recording) setStage((s) => (s.kind === 'recording' ? { kind: 'recorded', recording } : s))
    } catch (err) {
      recorderRef.current = null
      setStage({ kind: 'error', message: `Recording failed: ${errorText(err)}` })
    }
  }

  const send = async (recording: Recording | null) => {
    if (!recording || recording.bytes === 0) return setStage({ kind: 'error', message: 'Nothing was recorded.' })
    setStage({ kind: 'sending', durationMs: recording.durationMs })
    try {
      const audio = await blobToBase64(recording.blob)
      const voicemail = await api.call('voicemail.send', { to: target.peer, audio, mime: recording.mime, durationMs: Math.round(recording.durationMs) })
      setStage({ kind: 'sent', voicemail })
      onSent(voicemail)
    } catch (err) {
      setStage({ kind: 'error', message: `Not sent: ${errorText(err)}` })
    }
  }

  const stopAndSend = async (recorder: VoicemailRecorder) => {
    recorderRef.current = null
    setStage({ kind: 'sending', durationMs: recorder.elapsedMs() })
    try {
      await send(await recorder.stop())
    } catch (err) {
      setStage({ kind: 'error', message: `Recording failed: ${errorText(err)}` })
    }
  }

  const cancel = () => {
    recorderRef.current?.cancel()
    recorderRef.current = null
    onClose()
  }

  return (
    <section className="call-panel voicemail-leave" aria-labelledby="voicemail-leave-title" data-testid="voicemail-leave" data-stage={stage.kind}>
      <h2 id="voicemail-leave-title" className="voicemail-leave__title">
        {stage.kind === 'offer' ? `${who} did not answer` : `Voice message for ${who}`}
      </h2>
      <VoicemailStage stage={stage} who={who} />
      <div className="voicemail-leave__actions">
        {stage.kind === 'offer' && (
          <>
            <button type="button" className="primary" data-testid="voicemail-record" onClick={() => void record()}>
              Leave a voice message
            </button>
            <button type="button" data-testid="voicemail-dismiss" onClick={onClose}>
              No thanks
            </button>
          </>
        )}
        {stage.kind === 'recording' && (
          <>
            <button type="button" data-testid="voicemail-stop" onClick={() => void stage.recorder.stop()}>
              Stop
            </button>
            <button type="button" className="primary" data-testid="voicemail-send" onClick={() => void stopAndSend(stage.recorder)}>
              Send
            </button>
            <button type="button" data-testid="voicemail-cancel" onClick={cancel}>
              Cancel
            </button>
          </>
        )}
        {stage.kind === 'recorded' && (
          <>
            <button type="button" className="primary" data-testid="voicemail-send" onClick={() => void send(stage.recording)}>
              Send
            </button>
            <button type="button" data-testid="voicemail-rerecord" onClick={() => void record()}>
              Record again
            </button>
            <button type="button" data-testid="voicemail-cancel" onClick={cancel}>
              Cancel
            </button>
          </>
        )}
        {(stage.kind === 'sent' || stage.kind === 'error') && (
          <button type="button" data-testid="voicemail-close" onClick={onClose}>
            Close
          </button>
        )}
      </div>
    </section>
  )
}

/** The words for each stage; the recording timer counts up to 2:00. */
export function VoicemailStage({ stage, who }: { stage: LeaveStage; who: string }) {
  switch (stage.kind) {
    case 'offer':
      return <p className="muted">You can leave a voice message of up to {formatDuration(VOICEMAIL_MAX_MS)}; it is sealed to {who} and held for them if they are offline.</p>
    case 'starting':
      return <p role="status">Opening the microphone…</p>
    case 'recording':
      return (
        <p className="voicemail-leave__recording" role="status">
          <span className="voicemail-leave__dot" aria-hidden="true" />
          Recording{' '}
          <span className="voicemail-leave__timer" data-testid="voicemail-timer" aria-label="Recorded so far">
            {formatDuration(stage.recorder.elapsedMs())}
          </span>{' '}
          <span className="muted">/ {formatDuration(VOICEMAIL_MAX_MS)}</span>
        </p>
      )
    case 'recorded':
      return (
        <p role="status">
          Recorded <span data-testid="voicemail-timer">{formatDuration(stage.recording.durationMs)}</span>
          {STOPPED_BY[stage.recording.stoppedBy]}.
        </p>
      )
    case 'sending':
      return <p role="status">Sending {formatDuration(stage.durationMs)}…</p>
    case 'sent':
      return <SentState voicemail={stage.voicemail} who={who} />
    case 'error':
      return (
        <p role="alert" className="error" data-testid="voicemail-result" data-state="failed">
          {stage.message}
        </p>
      )
  }
}

function SentState({ voicemail, who }: { voicemail: Voicemail; who: string }) {
  const text: Record<Voicemail['state'], string> = {
    stored: `Stored for delivery: mailbox holders keep it for ${who} until they fetch it.`,
    delivered: `Delivered to ${who}.`,
    sending: 'Sending…',
    failed: 'Not stored: no mailbox holder took it. Try again later.',
    received: 'Sent.'
  }
  return (
    <p role={voicemail.state === 'failed' ? 'alert' : 'status'} className={voicemail.state === 'failed' ? 'error' : undefined} data-testid="voicemail-result" data-state={voicemail.state}>
      {text[voicemail.state]}
    </p>
  )
}
