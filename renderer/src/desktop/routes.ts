import type { ViewName } from '../views/Sidebar.js'

/** Where a shell route takes the page: a view, and for a chat whose conversation to open. */
export type RouteTarget = { view: ViewName; chat?: string }

const VIEWS: ReadonlySet<string> = new Set<ViewName>(['buddies', 'dial', 'history', 'voicemail', 'node', 'overlay', 'settings'])

/**
 * The routes main's notifications send (main/notifications.ts NotificationRoutes):
 * `#/chat/<aor>`, `#/call/<id>` (the call panel is always on top, so any view
 * shows it), `#/history`, `#/voicemail`, or any view's name. Null for the rest.
 */
export function parseRoute(route: string): RouteTarget | null {
  const m = /^#\/([a-z]+)(?:\/(.+))?$/.exec(route)
  if (!m) return null
  const [, head, rest] = m
  if (head === 'chat' && rest !== undefined) {
    let peer: string
    try {
      peer = decodeURIComponent(rest)
    } catch {
      return null
    }
    return /^sips?:[^\s]+$/i.test(peer) ? { view: 'buddies', chat: peer } : null
  }
  if (head === 'call') return { view: 'buddies' }
  return rest === undefined && head !== undefined && VIEWS.has(head) ? { view: head as ViewName } : null
}
