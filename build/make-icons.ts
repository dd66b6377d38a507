/**
 * Draws Parley's app icon (two peers joined by a link on a rounded square) and
 * writes the set the packagers take (resources/README.md): `parley.png` (512 px),
 * `parley.ico` (Windows; PNG-compressed entries, allowed since Vista), `parley.icns`
 * (macOS; PNG entries up to 1024 px) and `png/NxN.png`, the Linux icon theme sizes.
 *
 *   node --import tsx build/make-icons.ts
 *
 * Flat colours, so the committed files stay a few kilobytes; PNG encoding is the
 * tray icons' (scripts/make-tray-icons.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodePng } from '../scripts/make-tray-icons.js'

const OUT = join(import.meta.dirname, '..', 'resources', 'icons')
const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512]
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]
/** ICNS element types holding PNG data, by pixel size (Apple's icns format). */
const ICNS_TYPES: Array<[string, number]> = [['icp4', 16], ['icp5', 32], ['icp6', 64], ['ic07', 128], ['ic08', 256], ['ic09', 512], ['ic10', 1024]]
const BACKGROUND = [0x1f, 0x6f, 0xeb] as const
const SAMPLES = 4

/** Coverage of the white glyph at (x, y) in unit coordinates: 1 inside, 0 outside. */
function glyph(x: number, y: number): boolean {
  const peers: Array<[number, number]> = [[0.33, 0.64], [0.67, 0.36]]
  if (peers.some(([cx, cy]) => Math.hypot(x - cx, y - cy) <= 0.13)) return true
  // The link: a bar of half-width 0.035 between the two peers' centres.
  const [[ax, ay], [bx, by]] = peers as [[number, number], [number, number]]
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)))
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))) <= 0.035
}

/** Inside the rounded square (margin 4 %, corner radius 20 %). */
function tile(x: number, y: number): boolean {
  const m = 0.04
  const r = 0.2
  if (x < m || y < m || x > 1 - m || y > 1 - m) return false
  const cx = Math.min(Math.max(x, m + r), 1 - m - r)
  const cy = Math.min(Math.max(y, m + r), 1 - m - r)
  return Math.hypot(x - cx, y - cy) <= r
}

function render(size: number): Buffer {
  const rgba = Buffer.alloc(size * size * 4)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let inTile = 0
      let inGlyph = 0
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = (px + (sx + 0.5) / SAMPLES) / size
          const y = (py + (sy + 0.5) / SAMPLES) / size
          if (tile(x, y)) {
            inTile++
            if (glyph(x, y)) inGlyph++
          }
        }
      }
      const o = (py * size + px) * 4
      const white = inTile === 0 ? 0 : inGlyph / inTile
      for (let c = 0; c < 3; c++) rgba[o + c] = Math.round(BACKGROUND[c]! + (255 - BACKGROUND[c]!) * white)
      rgba[o + 3] = Math.round((255 * inTile) / SAMPLES ** 2)
    }
  }
  return encodePng(size, size, rgba)
}

/** ICONDIR, one ICONDIRENTRY per image, then the PNGs; a width/height byte of 0 means 256. */
function ico(images: Map<number, Buffer>): Buffer {
  const head = Buffer.alloc(6 + 16 * images.size)
  head.writeUInt16LE(1, 2) // type: icon
  head.writeUInt16LE(images.size, 4)
  let offset = head.length
  let i = 0
  for (const [size, data] of images) {
    const e = 6 + 16 * i++
    head[e] = size % 256
    head[e + 1] = size % 256
    head.writeUInt16LE(1, e + 4) // colour planes
    head.writeUInt16LE(32, e + 6) // bits per pixel
    head.writeUInt32LE(data.length, e + 8)
    head.writeUInt32LE(offset, e + 12)
    offset += data.length
  }
  return Buffer.concat([head, ...images.values()])
}

function icns(images: Map<number, Buffer>): Buffer {
  const elements = ICNS_TYPES.map(([type, size]) => {
    const head = Buffer.alloc(8)
    head.write(type, 0, 'latin1')
    head.writeUInt32BE(8 + images.get(size)!.length, 4)
    return Buffer.concat([head, images.get(size)!])
  })
  const head = Buffer.alloc(8)
  head.write('icns', 0, 'latin1')
  head.writeUInt32BE(8 + elements.reduce((n, e) => n + e.length, 0), 4)
  return Buffer.concat([head, ...elements])
}

const sizes = new Set([...LINUX_SIZES, ...ICO_SIZES, ...ICNS_TYPES.map(([, size]) => size)])
const images = new Map([...sizes].sort((a, b) => a - b).map((size) => [size, render(size)]))
mkdirSync(join(OUT, 'png'), { recursive: true })
writeFileSync(join(OUT, 'parley.png'), images.get(512)!)
writeFileSync(join(OUT, 'parley.ico'), ico(new Map(ICO_SIZES.map((size) => [size, images.get(size)!]))))
writeFileSync(join(OUT, 'parley.icns'), icns(images))
for (const size of LINUX_SIZES) writeFileSync(join(OUT, 'png', `${size}x${size}.png`), images.get(size)!)
