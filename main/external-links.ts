import { originOf } from './permissions.js'

/**
 * Links that leave the app (Electron security checklist, "Do not use
 * shell.openExternal with untrusted content", "Disable or limit navigation",
 * "Disable or limit creation of new windows"). The renderer never navigates away
 * and never opens a window; a link the app page follows, in place or in a new
 * window, goes to the user's browser if it is a plain http(s) URL, and nowhere
 * otherwise. openExternal hands a URL to the OS, where `file:`, `smb:`,
 * `ms-msdt:` and friends run programs: only the parser's normalised, ASCII
 * `href` of an http(s) URL is ever passed on.
 */

/** Longer links are not something a user clicks on. */
export const MAX_EXTERNAL_URL_LENGTH = 2048

/** Controls, whitespace, backslash and bidi overrides: the parser would drop or reinterpret them. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SUSPICIOUS = /[\u0000-\u0020\u007f-\u009f\\\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

export type ExternalOpenDecision = { open: true; url: string } | { open: false; why: string }

export function decideExternalOpen(url: string): ExternalOpenDecision {
  if (typeof url !== 'string' || url.length === 0) return { open: false, why: 'not a URL' }
  if (url.length > MAX_EXTERNAL_URL_LENGTH) return { open: false, why: 'too long' }
  if (SUSPICIOUS.test(url)) return { open: false, why: 'control, space, backslash or bidi character' }
  // `https:example.com` and `http:/example.com` parse as valid URLs; a real link has `//`.
  if (!/^https?:\/\/[^/]/i.test(url)) return { open: false, why: 'not an http(s) link' }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { open: false, why: 'not a URL' }
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { open: false, why: 'not an http(s) link' }
  if (parsed.username !== '' || parsed.password !== '') return { open: false, why: 'credentials in the link' }
  if (parsed.hostname === '') return { open: false, why: 'no host' }
  if (parsed.href.length > MAX_EXTERNAL_URL_LENGTH) return { open: false, why: 'too long' }
  return { open: true, url: parsed.href }
}

/** What main does with a navigation or window request; it always denies it in the app itself. */
export type LinkDecision = { action: 'allow' } | { action: 'deny'; openExternal?: string }

export interface NavigationAsk {
  /** Where the frame would go. */
  url: string
  isMainFrame: boolean
  /** `webContents.getURL()`: the page that would be left ('' before the first load). */
  currentUrl: string
  appOrigin: string
}

/**
 * For `will-frame-navigate`. The app's top frame may move within its own origin
 * (hash changes, reload); a link it follows out of the app is opened in the
 * browser instead; subframes and other pages go nowhere.
 */
export function decideNavigation(ask: NavigationAsk): LinkDecision {
  if (!ask.isMainFrame) return { action: 'deny' }
  if (sameOrigin(ask.url, ask.appOrigin)) return { action: 'allow' }
  return withExternal(ask.url, ask.currentUrl, ask.appOrigin)
}

export interface WindowOpenAsk {
  url: string
  /** `HandlerDetails.disposition`: tabs and windows come from link clicks and `window.open`. */
  disposition: 'default' | 'foreground-tab' | 'background-tab' | 'new-window' | 'other'
  /** `webContents.getURL()` of the opener. */
  openerUrl: string
  appOrigin: string
}

/** For `setWindowOpenHandler`: no window is ever created; an app page's http(s) link goes to the browser. */
export function decideWindowOpen(ask: WindowOpenAsk): LinkDecision {
  if (ask.disposition === 'other') return { action: 'deny' } // save-to-disk and the like
  return withExternal(ask.url, ask.openerUrl, ask.appOrigin)
}

function withExternal(url: string, fromUrl: string, appOrigin: string): LinkDecision {
  if (!sameOrigin(fromUrl, appOrigin)) return { action: 'deny' }
  const external = decideExternalOpen(url)
  return external.open ? { action: 'deny', openExternal: external.url } : { action: 'deny' }
}

export interface ExternalLinkOpenerOptions {
  /** `shell.openExternal`. */
  openExternal: (url: string) => Promise<void>
  /** The OS call failed (no browser, say). */
  onError?: (err: unknown) => void
  now?: () => number
  /** A page that opens links in a loop gets one browser tab, not hundreds. */
  minIntervalMs?: number
}

/**
 * Hands links to the OS: checked again here (whatever the caller decided) and at
 * most one per interval. Returns whether the link was handed on.
 */
export function createExternalLinkOpener(opts: ExternalLinkOpenerOptions): (url: string) => boolean {
  const now = opts.now ?? Date.now
  const minIntervalMs = opts.minIntervalMs ?? 1000
  let last = -Infinity
  return (url) => {
    const decision = decideExternalOpen(url)
    if (!decision.open || now() - last < minIntervalMs) return false
    last = now()
    opts.openExternal(decision.url).catch((err: unknown) => opts.onError?.(err))
    return true
  }
}

function sameOrigin(url: string, appOrigin: string): boolean {
  const origin = originOf(url)
  return origin !== null && origin === originOf(appOrigin)
}
