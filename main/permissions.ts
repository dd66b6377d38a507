/**
 * Permission decisions for the renderer (Electron security checklist, "Handle
 * session permission requests from remote content"): Chromium grants by default,
 * so everything is denied unless listed here. A softphone needs the microphone
 * (and the camera for video calls, when enabled) in its own page; notifications
 * are shown by main, the clipboard, geolocation, MIDI and `openExternal` are
 * never needed by the renderer.
 */

/** The origin the renderer is served from once loaded through the custom protocol. */
export const DEFAULT_APP_ORIGIN = 'app://parley'

export interface PermissionPolicy {
  /** e.g. `app://parley`; see `originOf`. */
  appOrigin: string
  /** Camera for video calls; off unless the app offers video. */
  allowVideo?: boolean
}

/** What `setPermissionRequestHandler` hands over (its `details` flattened). */
export interface PermissionAsk extends PermissionPolicy {
  permission: string
  /** `details.requestingUrl`: the last URL the requesting frame loaded. */
  requestingUrl: string
  isMainFrame: boolean
  /** `details.mediaTypes` of a `media` request. */
  mediaTypes?: readonly string[]
}

/** What `setPermissionCheckHandler` hands over. */
export interface PermissionCheck extends PermissionPolicy {
  permission: string
  requestingOrigin: string
  isMainFrame: boolean
  /** `details.mediaType` of a `media` check. */
  mediaType?: string
  /** `details.embeddingOrigin`: set only for cross-origin subframes. */
  embeddingOrigin?: string
}

/** For `session.setPermissionRequestHandler`: true grants. */
export function decidePermission(ask: PermissionAsk): boolean {
  if (ask.permission !== 'media' || !ask.isMainFrame) return false
  if (!sameOrigin(ask.requestingUrl, ask.appOrigin)) return false
  // An empty list is a request we cannot read: deny rather than guess.
  const types = ask.mediaTypes ?? []
  return types.length > 0 && types.every((type) => mediaAllowed(type, ask))
}

/**
 * For `session.setPermissionCheckHandler`: Chromium asks this synchronously before
 * e.g. listing devices with labels; without it, a granted request can still be
 * reported as denied, and with a blanket `true` any frame would look granted.
 */
export function decidePermissionCheck(check: PermissionCheck): boolean {
  if (check.permission !== 'media' || !check.isMainFrame || check.embeddingOrigin !== undefined) return false
  if (!sameOrigin(check.requestingOrigin, check.appOrigin)) return false
  return check.mediaType === undefined || mediaAllowed(check.mediaType, check)
}

function mediaAllowed(type: string, policy: PermissionPolicy): boolean {
  return type === 'audio' || (type === 'video' && policy.allowVideo === true)
}

function sameOrigin(url: string, appOrigin: string): boolean {
  const origin = originOf(url)
  return origin !== null && origin === originOf(appOrigin)
}

/**
 * `scheme://host[:port]` of a URL, or null. Computed by hand because WHATWG `URL`
 * gives the opaque origin "null" for non-special schemes such as `app:`, which
 * Chromium treats as a real origin once the scheme is registered as standard.
 * Schemes without a host (file:, data:, about:) have no origin to trust.
 */
export function originOf(url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (parsed.host === '') return null
  return `${parsed.protocol}//${parsed.host}`
}
