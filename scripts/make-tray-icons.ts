import { crc32, deflateSync } from 'node:zlib'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PresenceStatus } from '../app/api/contract.js'
import { PRESENCE_STATUSES, trayIconName } from '../main/tray-model.js'

/**
 * Draws the tray icons `main/tray-model.ts` names into `resources/tray/`:
 *
 *   npx tsx scripts/make-tray-icons.ts
 *
 * The shapes tell the states apart without colour, since macOS templates and
 * Linux symbolic icons are monochrome: available a filled disc, away a clock,
 * busy a disc crossed by a bar (do not disturb), offline an empty ring. A
 * pending missed call, message or voicemail adds a dot at the top right.
 *
 * The PNG encoder is a few lines of node:zlib (RFC 2083: signature, IHDR, one
 * IDAT, IEND): a dependency for four chunks is not worth it. Output is
 * deterministic, so the test can check the committed files are this script's.
 */

export interface TrayIconFile {
  name: string
  /** Width and height in pixels. */
  size: number
  png: Buffer
}

type Platform = 'darwin' | 'linux' | 'win32'
type Rgb = readonly [number, number, number]

/**
 * Logical sizes: macOS menu bar and Windows' notification area draw 16 pt
 * icons (each also gets an `@2x` file, which Electron picks on HiDPI screens);
 * Linux AppIndicator panels draw 22 px.
 */
export const TRAY_ICON_SIZE: Record<Platform, number> = { darwin: 16, linux: 22, win32: 16 }
const HIDPI: Record<Platform, boolean> = { darwin: true, linux: false, win32: true }

/** Windows shows colour: the usual presence colours. */
const COLOUR: Record<PresenceStatus, Rgb> = {
  available: [0x2e, 0x7d, 0x32],
  away: [0xf5, 0x9e, 0x0b],
  busy: [0xc6, 0x28, 0x28],
  offline: [0x75, 0x75, 0x75]
}
const MARKER: Rgb = [0x15, 0x65, 0xc0]
/** Templates must be black (macOS uses only their alpha); GNOME's symbolic grey elsewhere. */
const MONO: Record<Exclude<Platform, 'win32'>, Rgb> = { darwin: [0, 0, 0], linux: [0xbe, 0xbe, 0xbe] }

/** What covers a point of the unit square: nothing, the status glyph, or the marker dot. */
type Ink = 0 | 1 | 2

function glyph(status: PresenceStatus, marked: boolean, x: number, y: number): Ink {
  if (marked) {
    const dm = Math.hypot(x - 0.8, y - 0.2)
    if (dm <= 0.19) return 2
    if (dm <= 0.29) return 0 // a gap keeps the dot apart from the glyph at 16 px
  }
  const r = Math.hypot(x - 0.5, y - 0.5)
  switch (status) {
    case 'available':
      return r <= 0.42 ? 1 : 0
    case 'offline':
      return r <= 0.42 && r >= 0.28 ? 1 : 0
    case 'busy':
      return r <= 0.42 && !(Math.abs(y - 0.5) <= 0.08 && Math.abs(x - 0.5) <= 0.26) ? 1 : 0
    case 'away': {
      if (r <= 0.42 && r >= 0.32) return 1
      const hourHand = Math.abs(x - 0.5) <= 0.05 && y >= 0.24 && y <= 0.53
      const minuteHand = Math.abs(y - 0.5) <= 0.05 && x >= 0.47 && x <= 0.7
      return hourHand || minuteHand ? 1 : 0
    }
  }
}

/** RGBA pixels, anti-aliased by sampling each pixel on a 4 × 4 grid. */
function render(size: number, ink: (x: number, y: number) => Ink, colours: readonly [Rgb, Rgb]): Buffer {
  const n = 4
  const rgba = Buffer.alloc(size * size * 4)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0
      let g = 0
      let b = 0
      let covered = 0
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const hit = ink((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
          if (hit === 0) continue
          const [cr, cg, cb] = colours[hit - 1]!
          r += cr
          g += cg
          b += cb
          covered++
        }
      }
      if (!covered) continue
      const at = (py * size + px) * 4
      rgba[at] = Math.round(r / covered)
      rgba[at + 1] = Math.round(g / covered)
      rgba[at + 2] = Math.round(b / covered)
      rgba[at + 3] = Math.round((255 * covered) / (n * n))
    }
  }
  return rgba
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** An 8-bit RGBA PNG (colour type 6), every scanline with filter 0 (none). */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 6, 0, 0, 0], 8) // depth 8, RGBA, deflate, adaptive filtering, no interlace
  const raw = Buffer.alloc(height * (1 + width * 4))
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (1 + width * 4) + 1, y * width * 4, (y + 1) * width * 4)
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))])
}

/** Every file of the tray: one per state, marker and platform, plus `@2x` where the platform uses them. */
export function trayIcons(): TrayIconFile[] {
  const files: TrayIconFile[] = []
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    for (const status of PRESENCE_STATUSES) {
      for (const marked of [false, true]) {
        const name = trayIconName(status, marked, platform)
        const colours: [Rgb, Rgb] = platform === 'win32' ? [COLOUR[status], MARKER] : [MONO[platform], MONO[platform]]
        const ink = (x: number, y: number) => glyph(status, marked, x, y)
        const size = TRAY_ICON_SIZE[platform]
        files.push({ name, size, png: encodePng(size, size, render(size, ink, colours)) })
        if (HIDPI[platform]) {
          files.push({ name: name.replace(/\.png$/, '@2x.png'), size: size * 2, png: encodePng(size * 2, size * 2, render(size * 2, ink, colours)) })
        }
      }
    }
  }
  return files
}

export async function writeTrayIcons(dir: string): Promise<TrayIconFile[]> {
  await mkdir(dir, { recursive: true })
  const files = trayIcons()
  for (const file of files) await writeFile(join(dir, file.name), file.png)
  return files
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('../resources/tray/', import.meta.url))
  const files = await writeTrayIcons(dir)
  console.log(`${files.length} icons in ${dir} (${files.reduce((sum, f) => sum + f.png.length, 0)} bytes)`)
}
