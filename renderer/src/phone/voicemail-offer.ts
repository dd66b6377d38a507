import type { CallView } from './phone.js'

/** What the offer is decided from: the ended call as the phone shows it. */
export type CallEnd = Pick<CallView, 'direction' | 'state' | 'answeredAt' | 'sipStatus' | 'endCause'>

/**
 * Final responses that mean the callee exists but did not take this call
 * (RFC 3261 §21): 408 no answer in time, 480 not reachable now (the overlay
 * found them but no flow came up, or no UA is registered), 486/600 busy, 487
 * the far end cancelled the ringing INVITE (a proxy's Timer C, §16.6 step 11),
 * 603 declined.
 */
const NOT_TAKEN = new Set([408, 480, 486, 487, 600, 603])
/** JsSIP's cause when our INVITE got no final response at all (Timer B): a 408 of our own. */
const NO_RESPONSE_CAUSE = 'Request Timeout'

/**
 * Whether to offer "Leave a voice message" once an outgoing call ended
 * unanswered. A 404 is offered only for a buddy: it means the overlay has no
 * record of them now (they are offline), and a buddy's key is known, so the
 * message can still be sealed to them and mailed. A call we cancelled
 * ourselves ends with no status (JsSIP's `Canceled`) and is not offered.
 */
export function offersVoicemail(call: CallEnd, opts: { buddy: boolean }): boolean {
  if (call.direction !== 'outgoing' || call.state !== 'ended' || call.answeredAt !== null) return false
  if (call.sipStatus === null) return call.endCause === NO_RESPONSE_CAUSE
  if (call.sipStatus === 404) return opts.buddy
  return NOT_TAKEN.has(call.sipStatus)
}
