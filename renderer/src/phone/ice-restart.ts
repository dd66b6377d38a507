import * as JsSIP from 'jssip'
import type { RTCSession, TerminateOptions } from 'jssip/lib/RTCSession'

/** How a restart's re-INVITE ended: `status` null when it could not be sent (an offer/answer was in progress). */
export type RestartOutcome = { ok: true } | { ok: false; status: number | null; reason: string }

/** The part of JsSIP's RTCSession an ICE restart needs. */
export type ReinvitingSession = Pick<RTCSession, 'isEstablished' | 'isEnded' | 'isReadyToReOffer' | 'connection'>

/**
 * What `RTCSession.renegotiate()` does inside (JsSIP 3.13). We call it
 * directly because `renegotiate()` ends the call with a BYE when the
 * re-INVITE fails, and a 491 from crossed re-INVITEs is no reason to hang up:
 * RFC 3261 §14.1 says to try again later.
 */
interface JsSipReinvite {
  _sendReinvite(options: {
    rtcOfferConstraints: RTCOfferOptions
    eventHandlers: { succeeded: () => void; failed: (response?: { status_code?: number; reason_phrase?: string }) => void }
  }): void
  _connectionPromiseQueue: Promise<unknown>
}

/**
 * Restart ICE on a call (RFC 8445 §9): a re-INVITE whose offer has fresh ICE
 * credentials, so both ends gather again — with the ICE servers the peer
 * connection has now — and check new pairs while the call stays up.
 */
export function restartIce(session: ReinvitingSession): Promise<RestartOutcome> {
  if (session.isEnded() || !session.isEstablished()) return Promise.resolve({ ok: false, status: null, reason: 'the call is not established' })
  if (!session.isReadyToReOffer()) return Promise.resolve({ ok: false, status: null, reason: 'another offer/answer is in progress' })
  const internals = session as unknown as JsSipReinvite
  return new Promise((resolve) => {
    internals._sendReinvite({
      rtcOfferConstraints: { iceRestart: true },
      eventHandlers: {
        succeeded: () => resolve({ ok: true }),
        failed: (response) => {
          // Our offer stays applied after a failed re-INVITE: roll it back, in
          // JsSIP's queue, so the far end's offer can be answered.
          const pc = session.connection
          internals._connectionPromiseQueue = internals._connectionPromiseQueue
            .then(() => (pc?.signalingState === 'have-local-offer' ? pc.setLocalDescription({ type: 'rollback' }) : undefined))
            .catch((err: unknown) => console.warn('rollback after a failed ICE restart', err))
          const status = response?.status_code ?? null
          resolve({ ok: false, status, reason: status === null ? 'the offer could not be made' : `${status} ${response?.reason_phrase ?? ''}`.trim() })
        }
      }
    })
  })
}

/**
 * JsSIP hangs up (408, cause "RTP Timeout") the moment ICE reports `failed`
 * (RTCSession._createRTCConnection). A relay dying does that, and the call
 * must survive it: while `working()` says the failover machine is still
 * bringing media back, that hang-up is skipped; every other one goes through.
 * Set it on the session before its peer connection can fail (newRTCSession).
 */
export function holdOffIceFailureHangup(session: { terminate(options?: TerminateOptions): void }, working: () => boolean): void {
  const terminate = session.terminate.bind(session)
  session.terminate = (options?: TerminateOptions) => {
    if (options?.cause === JsSIP.C.causes.RTP_TIMEOUT && working()) return
    terminate(options)
  }
}
