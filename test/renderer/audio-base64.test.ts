import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { base64ToBytes, bytesToBase64 } from '../../renderer/src/phone/audio-base64.js'

test('bytesToBase64 matches Node for sizes around its chunk boundary and for a full-size voicemail', () => {
  for (const size of [0, 1, 2, 3, 4, 0x7fff, 0x8000, 0x8001, 3 * 0x8000 + 2, 512 * 1024]) {
    const bytes = randomBytes(size)
    assert.equal(bytesToBase64(bytes), bytes.toString('base64'), `${size} bytes`)
  }
})

test('chunks are a multiple of 3 bytes, so no padding appears mid-string whatever the chunk size', () => {
  const bytes = randomBytes(1000)
  for (const chunk of [1, 2, 3, 4, 5, 7, 64, 999]) assert.equal(bytesToBase64(bytes, chunk), bytes.toString('base64'), `chunk ${chunk}`)
})

test('base64ToBytes reverses it', () => {
  const bytes = randomBytes(70_001)
  assert.deepEqual(Buffer.from(base64ToBytes(bytes.toString('base64'))), bytes)
  assert.equal(base64ToBytes('').length, 0)
})
