import { promises as fsp } from 'node:fs'
import { extname, join, sep } from 'node:path'
import type { Protocol } from 'electron'

/**
 * The renderer's own origin, `app://parley` (Electron security checklist, "Avoid
 * usage of the file:// protocol and prefer usage of custom protocols"): a page
 * from file:// may read any file the user can, and every file page shares one
 * origin; this scheme serves only the built renderer (dist/renderer, built with
 * base /app/), read-only, with a strict CSP on every response.
 */

export const APP_SCHEME = 'app'
export const APP_HOST = 'parley'
/** Vite's `base` (renderer/vite.config.ts): the page and its assets live under it. */
export const APP_BASE = '/app/'
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}${APP_BASE}index.html`

/**
 * The page's Content-Security-Policy (checklist, "Define a Content Security
 * Policy"). Nothing is allowed unless listed: scripts and styles are files of the
 * app (no inline, no eval), the API and SIP go over IPC so nothing is fetched
 * from a network, voicemail plays from blob: URLs (renderer/src/views/Voicemail.tsx),
 * calls from MediaStreams, and the page's empty favicon is `data:,`.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "font-src 'self'",
  // Vite's module-preload helper fetches the app's own chunks; nothing else is reachable.
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

const HARDENING: Record<string, string> = {
  'Content-Security-Policy': APP_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer'
}

/** What the build emits (renderer/vite.config.ts); anything else is served as opaque bytes. */
const MIME_BY_EXTENSION: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.txt': 'text/plain; charset=utf-8'
}

/** Far above any URL the app makes; a longer one is an attack or a bug. */
const MAX_URL_LENGTH = 2048
const MAX_SEGMENTS = 16
const MAX_SEGMENT_LENGTH = 255
/** Controls, backslash (a separator on Windows) and NUL anywhere in the raw URL. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_IN_URL = /[\u0000-\u001f\u007f\\]/
/** Separators, drive letters and alternate data streams (`:`), controls, after percent-decoding. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_IN_SEGMENT = /[\u0000-\u001f\u007f/\\:*?"<>|]/
/** Windows device names open a device, not a file, whatever the folder. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i

/** The parts of Electron's `protocol` request the handler reads. */
export interface AppRequest {
  readonly url: string
  readonly method: string
}

/** Call before `app` is ready: Chromium fixes scheme privileges at startup. */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  // standard: real origin and relative URLs; secure: a secure context (getUserMedia needs one).
  // Not bypassCSP, not corsEnabled, no service workers.
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }
  ])
}

/** Call once `app` is ready; `root` is the built renderer, `join(app.getAppPath(), 'dist', 'renderer')`. */
export function setupAppProtocol(protocol: Pick<Protocol, 'handle'>, root: string): void {
  protocol.handle(APP_SCHEME, createAppProtocolHandler({ root }))
}

export interface AppProtocolOptions {
  /** Folder served under `app://parley/app/`. */
  root: string
}

/**
 * The `protocol.handle` handler. GET only; host `parley` only; the path under
 * /app/ is taken apart into percent-decoded segments, each refused if it could
 * name anything but an entry of its folder (`.`/`..`, dotfiles, separators,
 * drive letters, device names); the file found must still be inside `root` once
 * links are resolved. `/` and `/app/` are the entry page.
 */
export function createAppProtocolHandler(opts: AppProtocolOptions): (request: AppRequest) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET') return refuse(405, { Allow: 'GET' })
    const segments = segmentsOf(request.url)
    if (typeof segments === 'number') return refuse(segments)
    const file = await fileInside(opts.root, segments)
    if (!file) return refuse(404)
    return new Response(await fsp.readFile(file), {
      status: 200,
      headers: {
        ...HARDENING,
        'Content-Type': MIME_BY_EXTENSION[extname(file).toLowerCase()] ?? 'application/octet-stream',
        // The page is read again on reload so a rebuilt app shows; hashed assets are immutable.
        'Cache-Control': segments.length === 1 && segments[0] === 'index.html' ? 'no-store' : 'private, max-age=31536000, immutable'
      }
    })
  }
}

/** The file's path segments under the base, or the status to refuse with. */
function segmentsOf(rawUrl: string): string[] | number {
  if (rawUrl.length > MAX_URL_LENGTH) return 414
  if (FORBIDDEN_IN_URL.test(rawUrl)) return 400
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return 400
  }
  // `host` includes any port; credentials would make a look-alike of the origin.
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || url.username !== '' || url.password !== '') return 404
  const path = url.pathname
  if (path === '' || path === '/' || path === APP_BASE || path === APP_BASE.slice(0, -1)) return ['index.html']
  if (!path.startsWith(APP_BASE)) return 404
  const raw = path.slice(APP_BASE.length).split('/')
  if (raw.length > MAX_SEGMENTS) return 404
  const segments: string[] = []
  for (const part of raw) {
    let segment: string
    try {
      segment = decodeURIComponent(part)
    } catch {
      return 400 // malformed or overlong UTF-8
    }
    // '' is `//` or a trailing slash (no directory listings); a leading dot is `.`, `..` or a dotfile.
    if (segment === '' || segment.startsWith('.') || segment.length > MAX_SEGMENT_LENGTH) return 404
    if (FORBIDDEN_IN_SEGMENT.test(segment) || WINDOWS_DEVICE.test(segment)) return 404
    segments.push(segment)
  }
  return segments
}

/** The real path of a regular file under `root`, or null: links may not lead out of it. */
async function fileInside(root: string, segments: string[]): Promise<string | null> {
  try {
    const realRoot = await fsp.realpath(root)
    const real = await fsp.realpath(join(realRoot, ...segments))
    if (!real.startsWith(realRoot + sep)) return null
    return (await fsp.stat(real)).isFile() ? real : null
  } catch {
    return null // missing, unreadable, or a name the OS refuses
  }
}

function refuse(status: number, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers: { ...HARDENING, ...headers } })
}
