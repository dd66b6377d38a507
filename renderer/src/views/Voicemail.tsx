import { useEffect, useRef, useState } from 'react'
import type { ApiResult, Voicemail as VoicemailEntry } from '../../../app/api/contract.js'
import { errorText, type MailboxView } from '../api.js'
import { messageWaiting } from '../message-waiting.js'
import { base64ToBytes } from '../phone/audio-base64.js'
import type { AudioDevices } from '../phone/devices.js'
import { formatDuration } from './CallPanel.js'
import './voicemail.css'

const OUT_STATES: Record<VoicemailEntry['state'], string> = {
  sending: 'sending…',
  stored: 'stored for delivery',
  delivered: 'delivered',
  failed: 'not stored',
  received: ''
}

const IDENTITY_NOTES: Partial<Record<NonNullable<VoicemailEntry['identity']>, string>> = {
  changed: 'sender key changed!',
  unverified: 'sender not verified'
}

export const voicemailPeerName = (v: VoicemailEntry) => v.peerName ?? v.peer.replace(/^sips?:/, '')

/** One voice message: who, when, how long, new or heard (ours: its delivery state), Play. */
export function VoicemailItem({ v, playing, onPlay }: { v: VoicemailEntry; playing: boolean; onPlay: (v: VoicemailEntry) => void }) {
  const who = voicemailPeerName(v)
  const fresh = v.direction === 'in' && !v.heard
  const status = v.direction === 'in' ? (v.heard ? 'heard' : 'new') : OUT_STATES[v.state]
  const note = v.identity ? IDENTITY_NOTES[v.identity] : undefined
  return (
    <li
      className={`voicemail-item voicemail-item--${v.direction}${fresh ? ' voicemail-item--new' : ''}${playing ? ' voicemail-item--playing' : ''}`}
      data-testid="voicemail-item"
      data-id={v.id}
      data-direction={v.direction}
      data-heard={String(v.heard)}
      data-state={v.state}
      data-peer={v.peer}
    >
      <span className="voicemail-item__dir" aria-label={v.direction === 'in' ? 'from' : 'to'}>
        {v.direction === 'in' ? '↙' : '↗'}
      </span>
      <span className="voicemail-item__who">
        {who}
        <small className="muted">
          {' '}
          {v.direction === 'in' ? 'left for you' : 'left by you'} · {formatDuration(v.durationMs)}
          {' · '}
          <span className={`voicemail-item__status voicemail-item__status--${v.direction === 'in' ? status : v.state}`} data-testid="voicemail-status">
            {status}
          </span>
          {note && <span className="warning"> · {note}</span>}
        </small>
      </span>
      <time className="voicemail-item__time muted" dateTime={v.at}>
        {new Date(v.at).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}
      </time>
      <button type="button" data-testid="voicemail-play" onClick={() => onPlay(v)} aria-label={`Play the voice message ${v.direction === 'in' ? 'from' : 'to'} ${who}`} disabled={v.bytes === 0}>
        {playing ? 'Play again' : 'Play'}
      </button>
    </li>
  )
}

/** What `mailbox.check` brought, in words (`received`: text messages, `voicemails`: voice messages). */
export function checkSummary(got: ApiResult<'mailbox.check'>): string {
  const parts: string[] = []
  if (got.received > 0) parts.push(`${got.received} ${got.received === 1 ? 'message' : 'messages'}`)
  if (got.voicemails > 0) parts.push(`${got.voicemails} ${got.voicemails === 1 ? 'voice message' : 'voice messages'}`)
  return parts.length ? `Fetched ${parts.join(' and ')}.` : 'Nothing new in your mailbox.'
}

/**
 * The voicemail view: message-waiting summary, "Check mailbox now", the list,
 * and one player. A recording is fetched when played (`voicemail.audio`) and
 * played from a Blob URL, revoked when another is played or the view closes.
 */
export function Voicemail({ mailbox, devices }: { mailbox: MailboxView; devices: AudioDevices }) {
  const { status, voicemails } = mailbox
  const [playing, setPlaying] = useState<{ id: string; url: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [checking, setChecking] = useState(false)
  const [checked, setChecked] = useState<string | null>(null)
  const audioRef = useRef<HTMLAudioElement>(null)

  useEffect(() => {
    if (!playing) return
    const url = playing.url
    return () => URL.revokeObjectURL(url)
  }, [playing])

  useEffect(() => {
    const audio = audioRef.current
    if (!playing || !audio) return
    void devices.routeOutput(audio)
    void audio.play().catch(() => undefined) // blocked without a user gesture: the controls are there
  }, [playing, devices])

  const play = async (v: VoicemailEntry) => {
    setError(null)
    try {
      const { mime, audio } = await mailbox.audio(v.id)
      const url = URL.createObjectURL(new Blob([base64ToBytes(audio)], { type: mime || v.mime }))
      setPlaying({ id: v.id, url })
      if (v.direction === 'in' && !v.heard) await mailbox.markHeard(v.id)
    } catch (err) {
      setError(`Could not play it: ${errorText(err)}`)
    }
  }

  const check = async () => {
    setChecking(true)
    setChecked(null)
    setError(null)
    try {
      setChecked(checkSummary(await mailbox.check()))
    } catch (err) {
      setError(`Checking the mailbox failed: ${errorText(err)}`)
    } finally {
      setChecking(false)
    }
  }

  const counts = voicemails ? messageWaiting(voicemails) : (status?.voicemail ?? null)
  const nowPlaying = playing && voicemails?.find((v) => v.id === playing.id)

  return (
    <section className="voicemail" aria-labelledby="voicemail-title">
      <header className="voicemail__header">
        <h2 id="voicemail-title">Voicemail</h2>
        <button type="button" data-testid="mailbox-check" onClick={() => void check()} disabled={checking}>
          {checking ? 'Checking…' : 'Check mailbox now'}
        </button>
      </header>
      <p className="voicemail__summary" data-testid="mwi-summary" role="status">
        {counts ? `${counts.new} new, ${counts.old} heard` : 'Loading…'}
        {status?.lastFetchAt && (
          <span className="muted">
            {' '}
            · mailbox fetched <time dateTime={status.lastFetchAt}>{new Date(status.lastFetchAt).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}</time>
          </span>
        )}
        {checked && <span data-testid="mailbox-check-result"> · {checked}</span>}
      </p>
      {status?.lastFetchError && (
        <p className="warning" data-testid="mailbox-fetch-error">
          The last mailbox fetch failed: {status.lastFetchError}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {playing && (
        <div className="voicemail__player">
          <p className="muted" id="voicemail-player-label">
            {nowPlaying ? `${nowPlaying.direction === 'in' ? 'From' : 'To'} ${voicemailPeerName(nowPlaying)}` : 'Voice message'}
          </p>
          <audio ref={audioRef} src={playing.url} controls autoPlay data-testid="voicemail-audio" data-voicemail-id={playing.id} aria-labelledby="voicemail-player-label" />
        </div>
      )}
      {voicemails?.length === 0 && <p className="muted">No voice messages.</p>}
      <ul className="voicemail__list">
        {voicemails?.map((v) => (
          <VoicemailItem key={v.id} v={v} playing={playing?.id === v.id} onPlay={(x) => void play(x)} />
        ))}
      </ul>
    </section>
  )
}
