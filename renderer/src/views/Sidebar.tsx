import type { Identity, Presence, PresenceStatus } from '../../../app/api/contract.js'
import { PRESENCE_LABELS, PresenceDot } from '../components/PresenceDot.js'
import type { RegistrationState } from '../phone/phone.js'
import { DialForm } from './DialForm.js'

export type ViewName = 'buddies' | 'dial' | 'history' | 'voicemail' | 'node' | 'overlay' | 'settings'

const NAV: { view: ViewName; label: string }[] = [
  { view: 'buddies', label: 'Buddies' },
  { view: 'dial', label: 'Dial pad' },
  { view: 'history', label: 'History' },
  { view: 'voicemail', label: 'Voicemail' },
  { view: 'node', label: 'Node' },
  { view: 'overlay', label: 'Overlay map' },
  { view: 'settings', label: 'Settings' }
]

const REGISTRATION_LABELS: Record<RegistrationState, string> = { registered: 'online', unregistered: 'connecting…', failed: 'registration failed' }

export interface SidebarProps {
  identity: Identity
  presence: Presence | null
  onPresence: (status: PresenceStatus) => void
  registration: RegistrationState
  registrationError: string | null
  dial: string
  onDial: (v: string) => void
  onCall: (target: string) => void
  canCall: boolean
  view: ViewName
  onView: (v: ViewName) => void
  unread: number
  /** New voicemails: the message-waiting indicator (RFC 3842). */
  waiting: number
}

/** Who I am, my presence, the phone's registration, the call field and the views. */
export function Sidebar(p: SidebarProps) {
  const status = p.presence?.status ?? 'available'
  return (
    <aside className="sidebar">
      <div className="me">
        <p className="me__name">{p.identity.displayName ?? p.identity.aor?.replace(/^sips?:/, '')}</p>
        <p className="me__aor muted">{p.identity.aor}</p>
        <label className="me__presence">
          <PresenceDot status={status} />
          <span className="visually-hidden">My status</span>
          <select data-testid="presence-select" value={status} onChange={(e) => p.onPresence(e.target.value as PresenceStatus)}>
            {(Object.keys(PRESENCE_LABELS) as PresenceStatus[]).map((s) => (
              <option key={s} value={s}>
                {PRESENCE_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        <p className={`registration registration--${p.registration}`} title={p.registrationError ?? undefined}>
          Phone: <span data-testid="sip-registration">{p.registration}</span>
          <span className="visually-hidden"> ({REGISTRATION_LABELS[p.registration]})</span>
        </p>
      </div>
      <DialForm value={p.dial} onChange={p.onDial} onCall={p.onCall} disabled={!p.canCall} />
      <nav aria-label="Views">
        <ul>
          {NAV.map((n) => (
            <li key={n.view}>
              <button type="button" data-testid={`nav-${n.view}`} aria-current={p.view === n.view ? 'page' : undefined} onClick={() => p.onView(n.view)}>
                {n.label}
                {n.view === 'buddies' && p.unread > 0 && <span className="badge" aria-label={`${p.unread} unread`}>{p.unread}</span>}
                {n.view === 'voicemail' && p.waiting > 0 && (
                  <span className="badge badge--waiting" data-testid="mwi-badge" aria-label={`${p.waiting} new voice ${p.waiting === 1 ? 'message' : 'messages'}`}>
                    {p.waiting}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      </nav>
    </aside>
  )
}
