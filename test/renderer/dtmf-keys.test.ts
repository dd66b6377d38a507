import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DTMF_TONES, dtmfTestId, toneForKeyEvent } from '../../renderer/src/phone/dtmf-keys.js'

const key = (k: string, extra: Partial<Parameters<typeof toneForKeyEvent>[0]> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, repeat: false, editable: false, ...extra })

test('digits, star and hash map to their tones, including shifted layouts', () => {
  for (const d of '0123456789') assert.equal(toneForKeyEvent(key(d)), d)
  assert.equal(toneForKeyEvent(key('*')), '*')
  assert.equal(toneForKeyEvent(key('#')), '#')
})

test('other keys, modifiers, auto-repeat and typing in a field send nothing', () => {
  for (const k of ['a', 'A', 'Enter', ' ', 'F1', '+', 'Backspace']) assert.equal(toneForKeyEvent(key(k)), null, k)
  assert.equal(toneForKeyEvent(key('1', { ctrlKey: true })), null)
  assert.equal(toneForKeyEvent(key('1', { metaKey: true })), null)
  assert.equal(toneForKeyEvent(key('1', { altKey: true })), null)
  assert.equal(toneForKeyEvent(key('1', { repeat: true })), null)
  assert.equal(toneForKeyEvent(key('1', { editable: true })), null)
})

test('keypad order and test ids', () => {
  assert.deepEqual(DTMF_TONES.join(''), '123456789*0#')
  assert.equal(dtmfTestId('*'), 'dtmf-star')
  assert.equal(dtmfTestId('#'), 'dtmf-hash')
  assert.equal(dtmfTestId('7'), 'dtmf-7')
})
