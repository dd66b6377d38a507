import assert from 'node:assert/strict'
import { test } from 'node:test'
import { offersVoicemail, type CallEnd } from '../../renderer/src/phone/voicemail-offer.js'

const end = (over: Partial<CallEnd>): CallEnd => ({
  direction: 'outgoing',
  state: 'ended',
  answeredAt: null,
  sipStatus: null,
  endCause: null,
  ...over
})
const buddy = { buddy: true }
const stranger = { buddy: false }

test('an outgoing call the callee did not take offers a voice message: 480, 408, 486, 600, 487 from the far end, 603', () => {
  for (const [sipStatus, endCause] of [
    [480, 'Unavailable'],
    [408, 'Unavailable'],
    [486, 'Busy'],
    [600, 'Busy'],
    [487, 'SIP Failure Code'],
    [603, 'Rejected']
  ] as const) {
    assert.equal(offersVoicemail(end({ sipStatus, endCause }), buddy), true, `${sipStatus} to a buddy`)
    assert.equal(offersVoicemail(end({ sipStatus, endCause }), stranger), true, `${sipStatus} to someone else`)
  }
})

test('our INVITE timing out with no answer at all (JsSIP: no status, Request Timeout) counts as 408', () => {
  assert.equal(offersVoicemail(end({ endCause: 'Request Timeout' }), buddy), true)
})

test('404 offers only for a buddy: their key is known even though the overlay has no record of them now', () => {
  assert.equal(offersVoicemail(end({ sipStatus: 404, endCause: 'Not Found' }), buddy), true)
  assert.equal(offersVoicemail(end({ sipStatus: 404, endCause: 'Not Found' }), stranger), false)
})

test('no offer when we cancelled, the call was answered, it came in, it has not ended, or it failed for other reasons', () => {
  assert.equal(offersVoicemail(end({ endCause: 'Canceled' }), buddy), false, 'we hung up while it rang')
  assert.equal(offersVoicemail(end({ answeredAt: 1, sipStatus: 200, endCause: 'Terminated' }), buddy), false, 'answered, then ended')
  assert.equal(offersVoicemail(end({ answeredAt: 1, sipStatus: 408, endCause: 'RTP Timeout' }), buddy), false, 'answered, media died')
  assert.equal(offersVoicemail(end({ direction: 'incoming', sipStatus: 603, endCause: 'Rejected' }), buddy), false, 'incoming')
  assert.equal(offersVoicemail(end({ state: 'ringing', sipStatus: 486 }), buddy), false, 'not ended')
  for (const sipStatus of [403, 415, 488, 500, 503]) assert.equal(offersVoicemail(end({ sipStatus, endCause: 'SIP Failure Code' }), buddy), false, String(sipStatus))
})
