/** @jsxRuntime automatic */
import { useState } from 'react'
import type { Buddy } from '../../../app/api/contract.js'
import type { ConferenceView } from '../conference/conference.js'

export interface ConferenceActions {
  invite: (target: string) => void
  toggleMute: () => void
  leave: () => void
  setVolume: (aor: string, volume: number) => void
}

const label = (aor: string, name: string | null) => name ?? aor.replace(/^sips?:/, '')

/** The conference in progress: roster with speaking and muted marks, the mixer, volumes, add, mute, leave. */
export function ConferencePanel({ conference, self, buddies, actions }: { conference: ConferenceView; self: string; buddies: Buddy[]; actions: ConferenceActions }) {
  const [invitee, setInvitee] = useState('')
  const mixer = conference.members.find((m) => m.aor === conference.mixer)
  const inConference = new Set(conference.members.map((m) => m.aor))
  const invitable = buddies.filter((b) => !inConference.has(b.aor) && b.presence !== 'offline')
  return (
    <section className="call-panel conference-panel" aria-label="Conference" data-testid="conference-panel" data-conference={conference.id} data-role={conference.role} data-state={conference.state} data-mixer={conference.mixer}>
      <div className="call-panel__summary">
        <strong>Conference</strong> · {conference.members.length} {conference.members.length === 1 ? 'person' : 'people'}
        <span className="conference-panel__mixer" data-testid="conference-mixer">
          {' '}
          · mixed by {conference.mixer === self ? 'you' : label(conference.mixer, mixer?.name ?? null)}
        </span>
      </div>
      {conference.state === 'handoff' && (
        <p className="call-panel__media-down" role="status" data-testid="conference-handoff">
          {conference.successor ? `Handing over to ${label(conference.successor, null)}…` : 'The mixer left: moving to a new one…'}
        </p>
      )}
      {conference.notice && (
        <p className="error" role="alert" data-testid="conference-notice">
          {conference.notice}
        </p>
      )}
      <ul className="conference-panel__roster" aria-label="Members">
        {conference.members.map((m) => (
          <li key={m.aor} data-testid="conference-member" data-aor={m.aor} data-speaking={m.speaking} data-muted={m.muted} data-mixer={m.aor === conference.mixer}>
            <span className={`conference-panel__talk${m.speaking ? ' conference-panel__talk--on' : ''}`} aria-label={m.speaking ? 'speaking' : 'quiet'} />
            <span className="conference-panel__name">
              {label(m.aor, m.name)}
              {m.aor === self && ' (you)'}
              {m.aor === conference.mixer && ' · mixer'}
              {m.muted && ' · muted'}
            </span>
            {m.aor !== self && (
              <input
                type="range"
                min={0}
                max={2}
                step={0.1}
                value={conference.volumes[m.aor] ?? 1}
                aria-label={`Volume of ${label(m.aor, m.name)}`}
                data-testid="conference-volume"
                data-aor={m.aor}
                onChange={(e) => actions.setVolume(m.aor, Number(e.target.value))}
              />
            )}
          </li>
        ))}
      </ul>
      <div className="call-panel__controls">
        <button type="button" data-testid="conference-mute" aria-pressed={conference.muted} onClick={actions.toggleMute}>
          {conference.muted ? 'Unmute' : 'Mute'}
        </button>
        <button type="button" className="danger" data-testid="conference-leave" onClick={actions.leave}>
          Leave
        </button>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault()
            if (invitee.trim()) actions.invite(invitee)
            setInvitee('')
          }}
        >
          <label className="visually-hidden" htmlFor="conference-add-input">
            Add to the conference
          </label>
          <input id="conference-add-input" list="conference-buddies" data-testid="conference-add-input" value={invitee} onChange={(e) => setInvitee(e.target.value)} placeholder="Add someone…" />
          <datalist id="conference-buddies">
            {invitable.map((b) => (
              <option key={b.aor} value={b.aor}>
                {b.displayName ?? b.aor}
              </option>
            ))}
          </datalist>
          <button type="submit" data-testid="conference-add" disabled={!invitee.trim()}>
            Add
          </button>
        </form>
      </div>
    </section>
  )
}
