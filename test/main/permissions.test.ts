import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_APP_ORIGIN, decidePermission, decidePermissionCheck, originOf, type PermissionAsk, type PermissionCheck } from '../../main/permissions.js'

const appOrigin = DEFAULT_APP_ORIGIN
const mic: PermissionAsk = { permission: 'media', requestingUrl: 'app://parley/index.html#/call', isMainFrame: true, mediaTypes: ['audio'], appOrigin }

const requests: [string, Partial<PermissionAsk>, boolean][] = [
  ['microphone for the app page', {}, true],
  ['microphone with a query', { requestingUrl: 'app://parley/index.html?x=1' }, true],
  ['camera when video is off', { mediaTypes: ['video'] }, false],
  ['microphone and camera when video is off', { mediaTypes: ['audio', 'video'] }, false],
  ['microphone and camera when video is on', { mediaTypes: ['audio', 'video'], allowVideo: true }, true],
  ['camera when video is on', { mediaTypes: ['video'], allowVideo: true }, true],
  ['media with no types', { mediaTypes: [] }, false],
  ['media with types missing', { mediaTypes: undefined }, false],
  ['media of an unknown type', { mediaTypes: ['screen'] }, false],
  ['a subframe of the app', { isMainFrame: false }, false],
  ['another origin', { requestingUrl: 'https://evil.example/' }, false],
  ['a look-alike host', { requestingUrl: 'app://parley.evil.example/' }, false],
  ['a look-alike scheme', { requestingUrl: 'apps://parley/' }, false],
  ['userinfo trick', { requestingUrl: 'app://parley@evil.example/' }, false],
  ['another port', { requestingUrl: 'app://parley:8080/' }, false],
  ['file:// page', { requestingUrl: 'file:///opt/parley/index.html' }, false],
  ['about:blank', { requestingUrl: 'about:blank' }, false],
  ['garbage URL', { requestingUrl: 'not a url' }, false],
  ['empty URL', { requestingUrl: '' }, false],
  ['notifications (main shows them)', { permission: 'notifications' }, false],
  ['clipboard-read', { permission: 'clipboard-read' }, false],
  ['clipboard-sanitized-write', { permission: 'clipboard-sanitized-write' }, false],
  ['geolocation', { permission: 'geolocation' }, false],
  ['midi', { permission: 'midi' }, false],
  ['midiSysex', { permission: 'midiSysex' }, false],
  ['openExternal', { permission: 'openExternal' }, false],
  ['display-capture', { permission: 'display-capture' }, false],
  ['fullscreen', { permission: 'fullscreen' }, false],
  ['pointerLock', { permission: 'pointerLock' }, false],
  ['unknown', { permission: 'unknown' }, false]
]

for (const [name, change, granted] of requests) {
  test(`request: ${name} → ${granted ? 'granted' : 'denied'}`, () => {
    assert.equal(decidePermission({ ...mic, ...change }), granted)
  })
}

test('the app origin may be given with a path or trailing slash', () => {
  assert.equal(decidePermission({ ...mic, appOrigin: 'app://parley/' }), true)
  assert.equal(decidePermission({ ...mic, appOrigin: 'app://other' }), false)
  assert.equal(decidePermission({ ...mic, appOrigin: 'not a url' }), false)
})

const micCheck: PermissionCheck = { permission: 'media', requestingOrigin: 'app://parley', isMainFrame: true, mediaType: 'audio', appOrigin }

const checks: [string, Partial<PermissionCheck>, boolean][] = [
  ['microphone for the app', {}, true],
  ['media with no type given', { mediaType: undefined }, true],
  ['media of unknown type', { mediaType: 'unknown' }, false],
  ['camera when video is off', { mediaType: 'video' }, false],
  ['camera when video is on', { mediaType: 'video', allowVideo: true }, true],
  ['a subframe', { isMainFrame: false }, false],
  ['a cross-origin embedded frame', { embeddingOrigin: 'app://parley' }, false],
  ['another origin', { requestingOrigin: 'https://evil.example' }, false],
  ['an opaque origin', { requestingOrigin: 'null' }, false],
  ['notifications', { permission: 'notifications' }, false],
  ['clipboard-read', { permission: 'clipboard-read' }, false],
  ['geolocation', { permission: 'geolocation' }, false],
  ['openExternal', { permission: 'openExternal' }, false],
  ['serial', { permission: 'serial' }, false],
  ['usb', { permission: 'usb' }, false],
  ['hid', { permission: 'hid' }, false]
]

for (const [name, change, granted] of checks) {
  test(`check: ${name} → ${granted ? 'granted' : 'denied'}`, () => {
    assert.equal(decidePermissionCheck({ ...micCheck, ...change }), granted)
  })
}

test('originOf reads custom-scheme origins that URL reports as "null"', () => {
  assert.equal(new URL('app://parley/x').origin, 'null')
  assert.equal(originOf('app://parley/index.html'), 'app://parley')
  assert.equal(originOf('https://Example.org:443/a'), 'https://example.org')
  assert.equal(originOf('http://localhost:5173/'), 'http://localhost:5173')
  assert.equal(originOf('file:///etc/passwd'), null)
  assert.equal(originOf('data:text/html,hi'), null)
})
