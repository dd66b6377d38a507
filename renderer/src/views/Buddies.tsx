import { useState, type FormEvent, type MouseEvent } from 'react'
import type { Buddy } from '../../../app/api/contract.js'
import { errorText } from '../api.js'
import { PRESENCE_LABELS, PresenceDot } from '../components/PresenceDot.js'

export interface BuddiesProps {
  buddies: Buddy[]
  selected: string | null
  onOpen: (aor: string) => void
  onCall: (aor: string) => void
  onAdd: (aor: string) => Promise<void>
  onRemove: (aor: string) => Promise<void>
  onAcceptKey: (aor: string, publicKey: string) => Promise<void>
}

export const buddyName = (b: Buddy) => b.displayName ?? b.aor.replace(/^sips?:/, '')

/** The buddy list: presence, unread counts, identity warnings; a click opens the chat. */
export function Buddies(props: BuddiesProps) {
  const [input, setInput] = useState('')
  const [error, setError] = useState<string | null>(null)

  const add = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    try {
      await props.onAdd(input.trim())
      setInput('')
    } catch (err) {
      setError(errorText(err))
    }
  }
  const act = (fn: () => Promise<void>) => void fn().catch((err: unknown) => setError(errorText(err)))

  return (
    <section className="buddies" aria-labelledby="buddies-title">
      <h2 id="buddies-title">Buddies</h2>
      <form className="inline-form" onSubmit={(e) => void add(e)}>
        <label className="visually-hidden" htmlFor="buddy-add">
          Buddy address
        </label>
        <input id="buddy-add" data-testid="buddy-add-input" value={input} onChange={(e) => setInput(e.target.value)} placeholder="sip:bob@example.org" autoComplete="off" />
        <button type="submit" data-testid="buddy-add-submit" disabled={!input.trim()}>
          Add
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {props.buddies.length === 0 && <p className="muted">No buddies yet: add one by address.</p>}
      <ul className="buddy-list">
        {props.buddies.map((b) => {
          const changed = b.identity.state === 'changed'
          const name = buddyName(b)
          const open = (e: MouseEvent) => {
            if ((e.target as HTMLElement).closest('.buddy__actions, .buddy__warning')) return
            props.onOpen(b.aor)
          }
          return (
            <li
              key={b.aor}
              className={`buddy${props.selected === b.aor ? ' buddy--selected' : ''}`}
              data-testid="buddy-item"
              data-aor={b.aor}
              data-presence={b.presence}
              onClick={open}
            >
              <button type="button" className="buddy__open" aria-label={`Chat with ${name}, ${PRESENCE_LABELS[b.presence]}${b.unread ? `, ${b.unread} unread` : ''}`}>
                <PresenceDot status={b.presence} />
                <span className="buddy__name" title={b.aor}>{name}</span>
                <span className="buddy__status">
                  {PRESENCE_LABELS[b.presence]}
                  {b.note ? ` — ${b.note}` : ''}
                </span>
                {b.unread > 0 && (
                  <span className="badge" data-testid="buddy-unread">
                    {b.unread}
                  </span>
                )}
              </button>
              <span className="buddy__actions">
                <button type="button" data-testid="buddy-call" disabled={changed} onClick={() => props.onCall(b.aor)} aria-label={`Call ${name}`}>
                  Call
                </button>
                <button type="button" className="quiet" data-testid="buddy-remove" onClick={() => act(() => props.onRemove(b.aor))} aria-label={`Remove ${name}`}>
                  ✕
                </button>
              </span>
              {changed && (
                <div className="buddy__warning" role="alert" data-testid="buddy-identity-warning">
                  <strong>{name}’s identity key changed.</strong> It may be a new device — or someone else. Check the new fingerprint with them before you call
                  or chat.
                  <span className="fingerprint">new: {b.identity.offeredFingerprint ?? 'unknown'}</span>
                  <span className="fingerprint">was: {b.identity.fingerprint ?? 'unknown'}</span>
                  <button type="button" data-testid="buddy-accept-key" disabled={!b.identity.offeredKey} onClick={() => b.identity.offeredKey && act(() => props.onAcceptKey(b.aor, b.identity.offeredKey as string))}>
                    Accept the new key
                  </button>
                </div>
              )}
            </li>
          )
        })}
      </ul>
    </section>
  )
}
