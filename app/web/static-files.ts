import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import type { ServerResponse } from 'node:http'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8'
}

/**
 * Serve one file of the built renderer. `urlPath` is the part after the app's
 * base; anything that would leave `root` (`..`, encoded or not) is refused, and
 * paths without a file extension fall back to index.html (client-side views).
 */
export async function serveStatic(root: string, urlPath: string, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return void res.writeHead(400, headers).end('bad path')
  }
  const base = resolve(root)
  let file = resolve(join(base, decoded))
  if (file !== base && !file.startsWith(base + sep)) return void res.writeHead(404, headers).end('not found')
  if (decoded === '' || decoded.endsWith('/') || !extname(decoded)) file = join(base, 'index.html')
  let size: number
  try {
    const s = await stat(file)
    if (!s.isFile()) throw new Error('not a file')
    size = s.size
  } catch {
    return void res.writeHead(404, headers).end('not found')
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream'
  // Hashed asset names may be cached; the page itself never, so a rebuilt app is picked up.
  const cache = file.endsWith('index.html') ? 'no-store' : 'private, max-age=3600'
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': String(size), 'Cache-Control': cache })
  createReadStream(file).on('error', () => res.destroy()).pipe(res)
}
