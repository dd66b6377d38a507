import type { PresenceStatus } from '../../../app/api/contract.js'

export const PRESENCE_LABELS: Record<PresenceStatus, string> = {
  available: 'Available',
  away: 'Away',
  busy: 'Busy (do not disturb)',
  offline: 'Offline'
}

/** A coloured dot; the text label stays next to it for people who do not see colour. */
export function PresenceDot({ status }: { status: PresenceStatus }) {
  return <span className={`presence-dot presence-dot--${status}`} aria-hidden="true" />
}
