import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { crc32, inflateSync } from 'node:zlib'
import { allTrayIconNames } from '../../main/tray-model.js'
import { TRAY_ICON_SIZE, trayIcons } from '../../scripts/make-tray-icons.js'

const TRAY_DIR = fileURLToPath(new URL('../../resources/tray/', import.meta.url))

interface DecodedPng {
  width: number
  height: number
  colourType: number
  pixels: Buffer
}

/** A strict reader, independent of the encoder: signature, every chunk's CRC, IHDR, inflated size, IEND last. */
function decodePng(file: Buffer): DecodedPng {
  assert.deepEqual([...file.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature')
  let at = 8
  const chunks: Array<{ type: string; data: Buffer }> = []
  while (at < file.length) {
    const length = file.readUInt32BE(at)
    const type = file.toString('latin1', at + 4, at + 8)
    const data = file.subarray(at + 8, at + 8 + length)
    assert.equal(file.readUInt32BE(at + 8 + length), crc32(file.subarray(at + 4, at + 8 + length)), `${type} CRC`)
    chunks.push({ type, data })
    at += 12 + length
  }
  assert.equal(at, file.length, 'no trailing bytes')
  assert.equal(chunks[0]?.type, 'IHDR')
  assert.equal(chunks.at(-1)?.type, 'IEND')
  const ihdr = chunks[0]!.data
  const width = ihdr.readUInt32BE(0)
  const height = ihdr.readUInt32BE(4)
  const colourType = ihdr[9]!
  assert.equal(ihdr[8], 8, 'bit depth')
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)))
  assert.equal(raw.length, height * (1 + width * 4), 'RGBA scanlines')
  const pixels = Buffer.alloc(width * height * 4)
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (1 + width * 4)], 0, 'filter none')
    raw.copy(pixels, y * width * 4, y * (1 + width * 4) + 1, (y + 1) * (1 + width * 4))
  }
  return { width, height, colourType, pixels }
}

function platformOf(name: string): 'darwin' | 'linux' | 'win32' {
  return name.includes('Template') ? 'darwin' : name.includes('-symbolic') ? 'linux' : 'win32'
}

function opaqueColours(pixels: Buffer): Set<string> {
  const colours = new Set<string>()
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3]! > 0) colours.add(pixels.toString('hex', i, i + 3))
  return colours
}

test('every icon the tray model can name is in resources/tray as a small RGBA PNG of its platform size', async () => {
  const names = allTrayIconNames()
  assert.equal(names.length, 24)
  for (const name of names) {
    const file = await readFile(TRAY_DIR + name)
    const png = decodePng(file)
    const size = TRAY_ICON_SIZE[platformOf(name)]
    assert.deepEqual([png.width, png.height, png.colourType], [size, size, 6], name)
    assert.ok(file.length < 2048, `${name} is ${file.length} bytes`)
    // Not blank and not a full square: a glyph on a transparent background.
    const alpha = [...png.pixels].filter((_, i) => i % 4 === 3)
    assert.ok(alpha.some((a) => a === 255) && alpha.some((a) => a === 0), `${name} has a glyph`)
  }
})

test('macOS templates and Windows icons have @2x twins; templates are black, Linux icons one grey', async () => {
  for (const name of allTrayIconNames()) {
    const platform = platformOf(name)
    const png = decodePng(await readFile(TRAY_DIR + name))
    if (platform === 'darwin') assert.deepEqual([...opaqueColours(png.pixels)], ['000000'], name)
    if (platform === 'linux') assert.equal(opaqueColours(png.pixels).size, 1, name)
    if (platform === 'linux') continue
    const twin = decodePng(await readFile(TRAY_DIR + name.replace('.png', '@2x.png')))
    assert.equal(twin.width, png.width * 2, `${name} @2x`)
  }
})

test('each state and marker looks different from the others on every platform', async () => {
  const seen = new Set<string>()
  for (const name of allTrayIconNames()) {
    const png = decodePng(await readFile(TRAY_DIR + name))
    // Compare alpha only: the shape alone must tell the state (templates and symbolic icons have no colour).
    const shape = Buffer.from([...png.pixels].filter((_, i) => i % 4 === 3)).toString('base64') + platformOf(name)
    assert.ok(!seen.has(shape), `${name} has the same shape as another icon`)
    seen.add(shape)
  }
})

test('the committed icons are exactly what scripts/make-tray-icons.ts draws, and nothing else is there', async () => {
  const drawn = trayIcons()
  for (const icon of drawn) assert.ok((await readFile(TRAY_DIR + icon.name)).equals(icon.png), `${icon.name} is stale: run npx tsx scripts/make-tray-icons.ts`)
  assert.deepEqual((await readdir(TRAY_DIR)).sort(), drawn.map((i) => i.name).sort())
})
