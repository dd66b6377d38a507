import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inputConstraint, outputSinkId, shouldSwitchInput } from '../../renderer/src/phone/device-choice.js'

const devices = [
  { kind: 'audioinput', deviceId: 'default', groupId: 'g-usb' },
  { kind: 'audioinput', deviceId: 'usb', groupId: 'g-usb' },
  { kind: 'audioinput', deviceId: 'builtin', groupId: 'g-builtin' },
  { kind: 'audiooutput', deviceId: 'default', groupId: 'g-usb' },
  { kind: 'audiooutput', deviceId: 'speaker', groupId: 'g-builtin' }
]

test('a chosen device that is present is used exactly; a missing one falls back to the default', () => {
  assert.deepEqual(inputConstraint('builtin', devices), { deviceId: { exact: 'builtin' } })
  assert.equal(inputConstraint('gone', devices), true)
  assert.equal(inputConstraint(null, devices), true)
  assert.equal(outputSinkId('speaker', devices), 'speaker')
  assert.equal(outputSinkId('gone', devices), '')
  assert.equal(outputSinkId('builtin', devices), '', 'an input id is not an output')
})

test('the live input moves when its device is unplugged, the choice changes, or the system default moves', () => {
  const onUsb = { deviceId: 'usb', groupId: 'g-usb', ended: false }
  assert.equal(shouldSwitchInput(onUsb, null, devices), false, 'following the default, still on it')
  assert.equal(shouldSwitchInput(onUsb, 'usb', devices), false)
  assert.equal(shouldSwitchInput(onUsb, 'builtin', devices), true, 'the user picked another device')
  assert.equal(shouldSwitchInput({ ...onUsb, ended: true }, null, devices), true, 'the track ended')
  const unplugged = devices.filter((d) => d.groupId !== 'g-usb').concat({ kind: 'audioinput', deviceId: 'default', groupId: 'g-builtin' })
  assert.equal(shouldSwitchInput(onUsb, 'usb', unplugged), true, 'the chosen device went away')
  assert.equal(shouldSwitchInput(onUsb, null, unplugged), true, 'the default is now another device')
  assert.equal(shouldSwitchInput({ deviceId: 'builtin', groupId: 'g-builtin', ended: false }, 'usb', unplugged), false, 'already on the fallback')
  // Chromium reports deviceId 'default' for a track opened on the default; it stays on the old device.
  assert.equal(shouldSwitchInput({ deviceId: 'default', groupId: 'g-usb', ended: false }, null, devices), false)
  assert.equal(shouldSwitchInput({ deviceId: 'default', groupId: 'g-usb', ended: false }, null, unplugged), true, 'opened on the default, which moved')
})
