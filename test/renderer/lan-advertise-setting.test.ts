import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createElement as h } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { LanAdvertiseSetting } from '../../renderer/src/views/LanAdvertiseSetting.js'

const render = (lan: Parameters<typeof LanAdvertiseSetting>[0]['lan'], checked = true) => renderToStaticMarkup(h(LanAdvertiseSetting, { checked, lan, onChange: () => {} }))
const box = (html: string) => /<input[^>]*data-testid="setting-lan-advertise"[^>]*>/.exec(html)?.[0] ?? ''

test('the LAN privacy box is live when the peer may advertise, or while its status is not known yet', () => {
  for (const html of [render({ advertising: true, mode: 'advertise', peers: [], phones: [] }), render(undefined)]) {
    assert.doesNotMatch(box(html), /disabled/)
    assert.doesNotMatch(html, /setting-lan-advertise-limit/)
  }
  assert.match(box(render({ advertising: false, mode: 'advertise', peers: [], phones: [] }, false)), /^(?!.*checked).*$/)
})

test('the LAN privacy box is disabled, with the reason, when --lan browse or --lan off decides instead', () => {
  const browse = render({ advertising: false, mode: 'browse', peers: [], phones: [] })
  assert.match(box(browse), /disabled=""/)
  assert.match(browse, /data-testid="setting-lan-advertise-limit">This peer was started with --lan browse: it finds others here but is never announced/)
  const off = render(null)
  assert.match(box(off), /disabled=""/)
  assert.match(off, /data-testid="setting-lan-advertise-limit">Local network discovery is off on this computer/)
})
