import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const SESSION_COOKIE = 'parley-session'

/**
 * Who may use web mode: whoever holds the token printed by `parley serve --web`.
 * The token arrives once in the URL fragment (never sent to servers or put in
 * Referer), the loader trades it for an HttpOnly, SameSite=Strict cookie, and
 * every later request — page, assets, `/api` and `/sip` sockets — must carry
 * that cookie or `Authorization: Bearer <token>`. Browsers must also come from
 * the served origin (CSRF, cross-site WebSocket hijacking) and name our own
 * host (DNS rebinding).
 */
export class WebAuth {
  readonly token: string
  private readonly tokenDigest: Buffer
  private origins: Set<string> = new Set()
  private hosts: Set<string> = new Set()

  constructor(token = randomBytes(32).toString('base64url')) {
    this.token = token
    this.tokenDigest = digest(token)
  }

  /** Set once the port is known: http://127.0.0.1:PORT and http://localhost:PORT. */
  bind(port: number): void {
    this.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`])
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`))
  }

  /** DNS rebinding: a page from evil.example resolving to 127.0.0.1 still says Host: evil.example. */
  hostAllowed(req: IncomingMessage): boolean {
    return this.hosts.has((req.headers.host ?? '').toLowerCase())
  }

  /** Browsers always send Origin on WebSocket handshakes and POSTs; it must be ours. */
  originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin
    if (origin === undefined) return bearer(req) !== null // non-browser clients with the token
    return this.origins.has(origin.toLowerCase())
  }

  /** The token from `Authorization: Bearer` or the session cookie. */
  authorised(req: IncomingMessage): boolean {
    const presented = bearer(req) ?? cookie(req, SESSION_COOKIE)
    return presented !== null && this.matches(presented)
  }

  matches(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.tokenDigest)
  }

  sessionCookie(): string {
    return `${SESSION_COOKIE}=${this.token}; HttpOnly; SameSite=Strict; Path=/`
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

export function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer\s+([A-Za-z0-9_-]{1,256})$/.exec(req.headers.authorization ?? '')
  return m ? (m[1] as string) : null
}

function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}
