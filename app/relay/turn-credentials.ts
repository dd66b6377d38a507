import { createHmac, randomBytes } from 'node:crypto'

/**
 * Time-limited TURN credentials, the "TURN REST API" convention
 * (draft-uberti-behave-turn-rest-00 §2.2) that browsers' ICE servers and
 * coturn's `use-auth-secret` share:
 *
 *   username   = "<unix expiry, seconds>:<label>"
 *   credential = base64(HMAC-SHA1(secret, username))
 *
 * The super-node hands these out; the TURN server recomputes the credential
 * from the username, so it keeps no per-user state. The label is only a hint
 * for logs (a call id or the requester's key prefix), never an identity.
 */
export interface TurnCredentials {
  username: string
  credential: string
  /** Expiry in ms since the epoch (the username carries it in seconds). */
  expiresAt: number
}

/** 32 random bytes: the shared secret between a TURN service and whoever mints its credentials. */
export function newTurnSecret(): Buffer {
  return randomBytes(32)
}

export function turnPassword(secret: Buffer, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64')
}

export function mintTurnCredentials(secret: Buffer, label: string, ttlS: number, now = Date.now()): TurnCredentials {
  if (!Number.isFinite(ttlS) || ttlS <= 0) throw new RangeError(`TURN credential lifetime must be positive, got ${ttlS}`)
  const expiryS = Math.floor(now / 1000) + Math.ceil(ttlS)
  const username = `${expiryS}:${label}`
  return { username, credential: turnPassword(secret, username), expiresAt: expiryS * 1000 }
}

const REST_USERNAME = /^(\d{1,12}):(.*)$/s

/** The expiry (ms since the epoch) a REST username carries, or null when it is not one. */
export function turnUsernameExpiry(username: string): number | null {
  const m = REST_USERNAME.exec(username)
  if (!m) return null
  const s = Number(m[1])
  return Number.isSafeInteger(s) && s > 0 ? s * 1000 : null
}

/** True while a REST username is well formed and not yet expired. */
export function checkTurnUsername(username: string, now = Date.now()): boolean {
  const expiresAt = turnUsernameExpiry(username)
  return expiresAt !== null && now < expiresAt
}
