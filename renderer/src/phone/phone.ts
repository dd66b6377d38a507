import * as JsSIP from 'jssip'
import type { ReferEvent, RTCSession } from 'jssip/lib/RTCSession'
import type { IncomingResponse } from 'jssip/lib/SIPMessage'
import type { Socket } from 'jssip/lib/Socket'
import type { RTCSessionEvent } from 'jssip/lib/UA'
import type { CallRecord } from '../../../app/api/contract.js'
import { Conference, type ConferenceHost, type ConferenceView, type InfoEvent } from '../conference/conference.js'
import { CONFERENCE_HEADER, ROSTER_CONTENT_TYPE, decodeRoster, parseConferenceHeader, type Capacity } from '../conference/roster.js'
import { buildCallRecord } from './call-record.js'
import { CallRelays, type CallRelayView, type RelayService } from './call-relays.js'
import type { AudioDevices } from './devices.js'
import type { DtmfTone } from './dtmf-keys.js'
import { holdOffIceFailureHangup, restartIce } from './ice-restart.js'

export type RegistrationState = 'unregistered' | 'registered' | 'failed'

/**
 * What the user sees of a call (the text of `call-state`):
 *
 *   outgoing:  calling ──180/183──► ringing ──2xx──► connected ◄──► on-hold
 *   incoming:  ringing ──answer──► connected ◄──► on-hold
 *   any state ──BYE / CANCEL / 4xx-6xx / decline──► ended
 */
export type CallState = 'calling' | 'ringing' | 'connected' | 'on-hold' | 'ended'

export interface CallView {
  id: string
  direction: 'incoming' | 'outgoing'
  peer: string
  peerName: string | null
  state: CallState
  muted: boolean
  /** A 183 carried SDP: the far end's media (announcement, ringback) is playing. */
  earlyMedia: boolean
  startedAt: number
  answeredAt: number | null
  endedAt: number | null
  endCause: string | null
  sipStatus: number | null
  transfer: 'none' | 'pending' | 'failed'
  /** The call's relays: the plan, the media path, failovers (null: a call refused as busy). */
  relay: CallRelayView | null
}

export interface PhoneState {
  registration: RegistrationState
  registrationError: string | null
  call: CallView | null
  /** The conference this user is in (its own call then shows here, not in `call`). */
  conference: ConferenceView | null
}

export interface PhoneOptions {
  aor: string
  displayName: string | null
  /** How SIP reaches the user's own peer: WebSocket in web mode, the preload's port in the desktop app (platform.ts). */
  sipSocket: Socket
  devices: AudioDevices
  /** The peer's relay plans (`relay.forCall`, `relay.failover`). */
  relays: RelayService
  /** Each call, once it ended, for the history (`calls.record`). */
  onCallEnded: (record: CallRecord) => void
  /** How long an ended call stays on screen. */
  lingerMs?: number
  /** This peer's af() and role, offered when a conference elects its mixer. */
  capacity?: () => Promise<Capacity>
}

/**
 * Only the TURN servers of the call's relay plan, never JsSIP's default (a
 * public Google STUN server). 'all': direct when possible, relayed when not.
 */
const PC_CONFIG: RTCConfiguration = { iceServers: [], iceTransportPolicy: 'all' }
const OFFER_CONSTRAINTS: RTCOfferOptions = { offerToReceiveAudio: true, offerToReceiveVideo: false }
/** How JsSIP ends a call whose ICE failed (RFC 3326 Reason in the BYE). */
const ICE_FAILED = { cause: JsSIP.C.causes.RTP_TIMEOUT, status_code: 408, reason_phrase: JsSIP.C.causes.RTP_TIMEOUT }
/** JsSIP sends the offer/answer only when gathering completes; host candidates come first and fast. */
const ICE_GATHERING_WAIT_MS = 1000

interface ActiveCall {
  session: RTCSession
  view: CallView
  stream: MediaStream | null
  /** What the user did, when the JsSIP cause alone does not say it. */
  localEnd: 'busy' | null
  /** The audio sender, kept because it has no track while we hold the call. */
  sender: RTCRtpSender | null
  relays: CallRelays | null
}

/** What JsSIP's connect() (ua.call, REFER accept) is given. */
interface DialOptions {
  mediaStream: MediaStream
  pcConfig: RTCConfiguration
  rtcOfferConstraints: RTCOfferOptions
}

/**
 * The user agent: a JsSIP UA registered at the user's own peer (its proxy and
 * registrar) over SIP-over-WebSocket or the desktop bridge, holding at most one call. Media is
 * WebRTC; remote audio plays through an `<audio autoplay>` element.
 */
export class Phone {
  private readonly ua: JsSIP.UA
  private readonly audio: HTMLAudioElement
  private readonly listeners = new Set<(s: PhoneState) => void>()
  private state: PhoneState = { registration: 'unregistered', registrationError: null, call: null, conference: null }
  private conference: Conference | null = null
  private current: ActiveCall | null = null
  private lingerTimer: ReturnType<typeof setTimeout> | null = null
  private autoAnswer = false
  private readonly offDevices: () => void

  constructor(private readonly opts: PhoneOptions) {
    this.audio = document.createElement('audio')
    this.audio.autoplay = true
    this.audio.dataset.testid = 'remote-audio'
    document.body.append(this.audio)

    this.ua = new JsSIP.UA({
      sockets: [opts.sipSocket],
      uri: opts.aor,
      display_name: opts.displayName ?? undefined,
      register: true,
      session_timers: false,
      user_agent: 'Parley'
    })
    this.ua.on('registered', () => this.setRegistration('registered', null))
    this.ua.on('unregistered', () => this.setRegistration('unregistered', null))
    this.ua.on('registrationFailed', (e) => this.setRegistration('failed', e.cause ?? 'registration failed'))
    this.ua.on('disconnected', () => this.setRegistration(this.state.registration === 'failed' ? 'failed' : 'unregistered', null))
    this.ua.on('newRTCSession', (e: RTCSessionEvent) => this.onNewSession(e))
    this.offDevices = opts.devices.onChange(() => void this.followDevices())
  }

  start(): void {
    this.ua.start()
  }

  stop(): void {
    this.offDevices()
    this.conference?.leave()
    if (this.current && !this.current.session.isEnded()) this.current.session.terminate()
    this.ua.stop()
    this.audio.remove()
  }

  getState(): PhoneState {
    return this.state
  }

  subscribe(fn: (s: PhoneState) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  setAutoAnswer(on: boolean): void {
    this.autoAnswer = on
  }

  /** The live call's peer connection, for statistics. */
  peerConnection(): RTCPeerConnection | null {
    const call = this.current
    return call && call.view.state !== 'ended' ? (call.session.connection ?? null) : null
  }

  async call(target: string): Promise<void> {
    if (this.busy()) throw new Error('already in a call')
    await this.dial((options) => this.ua.call(target.trim(), options))
  }

  /** Set by dial() while JsSIP's connect() runs: newRTCSession hands it the new call. */
  private dialing: ((call: ActiveCall) => void) | null = null

  /**
   * Place a call whose offer waits for the relay plan. The session's id names
   * the call to the peer, and JsSIP makes it inside connect() — but it makes
   * the offer only once the `mediaStream` it was given resolves (it chains on
   * it in RTCSession._sendInitialRequest). So it gets a promise: the
   * microphone and the plan are fetched in parallel (CallRelays sets the
   * plan's ICE servers on the peer connection), and only then is the stream
   * handed over.
   */
  private async dial(connect: (options: DialOptions) => void): Promise<void> {
    const media = this.opts.devices.openInput()
    let release: (stream: MediaStream) => void = () => undefined
    let refuse: (err: unknown) => void = () => undefined
    const gate = new Promise<MediaStream>((resolve, reject) => ((release = resolve), (refuse = reject)))
    let call: ActiveCall | null = null
    this.dialing = (c) => (call = c)
    try {
      connect({ mediaStream: gate as unknown as MediaStream, pcConfig: PC_CONFIG, rtcOfferConstraints: OFFER_CONSTRAINTS })
    } catch (err) {
      void media.then(stopStream, () => undefined)
      throw err
    } finally {
      this.dialing = null
    }
    const placed = call as ActiveCall | null
    if (!placed) return void media.then(stopStream, () => undefined)
    try {
      const [stream] = await Promise.all([media, placed.relays?.iceServers])
      placed.stream = stream
      // Hung up meanwhile: JsSIP drops the offer once the stream arrives.
      if (placed.view.state === 'ended') stopStream(stream)
      release(stream)
    } catch (err) {
      if (!placed.session.isEnded()) placed.session.terminate()
      refuse(err)
      throw err
    }
  }

  async answer(): Promise<void> {
    const call = this.current
    if (!call || call.view.direction !== 'incoming' || call.view.state !== 'ringing') return
    // The plan was asked for when the call came in; the microphone opens meanwhile.
    const [stream] = await Promise.all([this.opts.devices.openInput(), call.relays?.iceServers])
    call.stream = stream
    if (this.current !== call || call.view.state !== 'ringing') return void stopStream(call.stream)
    call.session.answer({ mediaStream: call.stream, pcConfig: { ...PC_CONFIG, iceServers: call.relays?.currentIceServers() ?? [] } })
  }

  /** The network may have changed (the machine woke up): new ICE credentials and candidates for the live call. */
  async restartIce(): Promise<void> {
    const call = this.current
    if (!call || (call.view.state !== 'connected' && call.view.state !== 'on-hold')) return
    const outcome = await restartIce(call.session)
    if (!outcome.ok) console.warn('ICE restart after resume failed:', outcome.reason)
  }

  /** 603 Decline (RFC 3261 §21.6.2). */
  decline(): void {
    const call = this.current
    if (!call || call.view.state !== 'ringing' || call.view.direction !== 'incoming') return
    this.patch(call, { sipStatus: 603 })
    call.session.terminate({ status_code: 603, reason_phrase: 'Decline' })
  }

  /** BYE when talking, CANCEL while the far end rings, decline when it is ringing here. */
  hangup(): void {
    const call = this.current
    if (!call) return
    if (call.view.state === 'ended') return this.clear(call)
    if (call.view.direction === 'incoming' && call.view.state === 'ringing') return this.decline()
    call.session.terminate()
  }

  toggleMute(): void {
    const s = this.current?.session
    if (!s || !this.talking()) return
    if (s.isMuted().audio) s.unmute({ audio: true })
    else s.mute({ audio: true })
  }

  /** Hold with a re-INVITE offering a=sendonly (RFC 6337 §5.3). */
  toggleHold(): void {
    const s = this.current?.session
    if (!s || !this.talking()) return
    if (s.isOnHold().local) s.unhold()
    else s.hold()
  }

  /** Blind transfer (RFC 3515 REFER); the call is hung up once the target answers the transferee. */
  transfer(target: string): void {
    const call = this.current
    if (!call || !this.talking()) return
    this.patch(call, { transfer: 'pending' })
    call.session.refer(target.trim(), {
      eventHandlers: {
        accepted: () => call.session.terminate(),
        failed: () => this.patch(call, { transfer: 'failed' }),
        requestFailed: () => this.patch(call, { transfer: 'failed' })
      }
    })
  }

  /** RFC 4733 telephone-events in the RTP stream, not SIP INFO (JsSIP's default). */
  sendDtmf(tone: DtmfTone): void {
    const s = this.current?.session
    if (!s || this.current?.view.state !== 'connected') return
    s.sendDTMF(tone, { transportType: JsSIP.C.DTMF_TRANSPORT.RFC2833 })
  }

  /** Forget an ended call now instead of after the linger time. */
  dismiss(): void {
    if (this.current?.view.state === 'ended') this.clear(this.current)
  }

  private busy(): boolean {
    return this.conference !== null || (this.current !== null && this.current.view.state !== 'ended')
  }

  // ── conferences (renderer/src/conference) ────────────────────────────────

  /** From the call in progress, call `target` too and mix both here: a conference. */
  startConference(target: string): void {
    const call = this.current
    if (this.conference) return this.conference.invite(target.trim())
    if (!call || call.view.state !== 'connected' || !call.stream) throw new Error('a conference starts from a connected call')
    const mic = call.stream
    this.conference = Conference.fromCall(this.conferenceHost(), call.session, mic, { aor: call.view.peer, name: call.view.peerName })
    this.handOverToConference(call)
    this.conference.invite(target.trim())
  }

  conferenceInvite(target: string): void {
    this.conference?.invite(target.trim())
  }

  conferenceLeave(): void {
    this.conference?.leave()
  }

  conferenceToggleMute(): void {
    this.conference?.toggleMute()
  }

  conferenceVolume(aor: string, volume: number): void {
    this.conference?.setVolume(aor, volume)
  }

  private conferenceHost(): ConferenceHost {
    return {
      ua: this.ua,
      self: { aor: this.opts.aor, name: this.opts.displayName },
      capacity: this.opts.capacity ?? (() => Promise.resolve({ score: 0.5, supernode: false, capable: true })),
      pcConfig: PC_CONFIG,
      onChange: (view) => {
        if (view === null) this.conference = null
        this.emit({ conference: view })
      }
    }
  }

  /** The call's dialog and microphone now belong to the conference; the call view goes away. */
  private handOverToConference(call: ActiveCall): void {
    call.stream = null
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
    this.current = null
    this.audio.srcObject = null
    this.emit({ call: null })
  }

  /** The far end of our call sent a conference roster: it mixes, we are a member now. */
  private joinConference(call: ActiveCall, body: string | undefined): void {
    const roster = decodeRoster(body)
    if (!roster || this.conference || !call.stream || call.view.state !== 'connected') return
    this.conference = Conference.asMember(this.conferenceHost(), call.session, call.stream, roster)
    this.handOverToConference(call)
  }

  private talking(): boolean {
    const state = this.current?.view.state
    return state === 'connected' || state === 'on-hold'
  }

  private onNewSession(e: RTCSessionEvent): void {
    if (this.conference?.claim(e)) return
    const session = e.session
    // A move to a new mixer of a conference we are not in (any more): not a call to ring.
    if (e.originator === 'remote' && parseConferenceHeader(e.request.getHeader(CONFERENCE_HEADER) as string | undefined)?.handoff) {
      session.terminate({ status_code: 481, reason_phrase: 'Call/Transaction Does Not Exist' })
      return
    }
    const incoming = e.originator === 'remote'
    const uri = session.remote_identity.uri
    const view: CallView = {
      id: session.id,
      direction: incoming ? 'incoming' : 'outgoing',
      peer: uri.toAor(),
      peerName: session.remote_identity.display_name || null,
      state: incoming ? 'ringing' : 'calling',
      muted: false,
      earlyMedia: false,
      startedAt: Date.now(),
      answeredAt: null,
      endedAt: null,
      endCause: null,
      sipStatus: null,
      transfer: 'none',
      relay: null
    }
    const call: ActiveCall = { session, view, stream: null, localEnd: null, sender: null, relays: null }
    if (!incoming) this.dialing?.(call)

    if (incoming && this.busy()) {
      // One call at a time: 486 Busy Here, recorded as missed.
      call.localEnd = 'busy'
      call.view.sipStatus = 486
      this.wire(call, false)
      session.terminate({ status_code: 486, reason_phrase: 'Busy Here' })
      return
    }
    const previous = this.current
    // A REFER we accepted starts the new call while the transferor still holds the old one.
    if (previous && previous.view.state !== 'ended' && !incoming) previous.session.terminate()
    this.current = call
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
    // Asked for as soon as the call exists: while it rings here, or while the microphone opens.
    const relays = new CallRelays({
      callId: session.id,
      relays: this.opts.relays,
      restartIce: () => restartIce(session),
      onChange: (relay) => {
        this.patch(call, { relay })
        // What JsSIP would have done at the first ICE failure, once no restart brought media back.
        if (relay.recovery === 'gave-up' && !session.isEnded()) session.terminate(ICE_FAILED)
      }
    })
    call.relays = relays
    call.view.relay = relays.view()
    holdOffIceFailureHangup(session, () => relays.view().recovery !== 'gave-up')
    this.wire(call, true)
    this.emit({ call: { ...view } })
    if (incoming && this.autoAnswer) void this.answer().catch((err: unknown) => console.error('auto-answer failed', err))
  }

  private wire(call: ActiveCall, shown: boolean): void {
    const s = call.session
    const attach = (pc: RTCPeerConnection) => {
      call.relays?.attach(pc)
      pc.addEventListener('track', (ev: RTCTrackEvent) => {
        if (this.current !== call) return
        this.audio.srcObject = ev.streams[0] ?? new MediaStream([ev.track])
        void this.opts.devices.routeOutput(this.audio)
        void this.audio.play().catch(() => undefined)
      })
    }
    if (shown) {
      if (s.connection) attach(s.connection)
      else s.on('peerconnection', (ev) => attach(ev.peerconnection))
    }
    let gatheringTimer: ReturnType<typeof setTimeout> | null = null
    s.on('icecandidate', (ev) => {
      gatheringTimer ??= setTimeout(ev.ready, ICE_GATHERING_WAIT_MS)
    })
    s.on('progress', (ev: { originator: string; response?: IncomingResponse }) => {
      if (ev.originator !== 'remote') return
      const response = ev.response
      const early = response?.status_code === 183 && Boolean(response.body)
      this.patch(call, { state: 'ringing', earlyMedia: call.view.earlyMedia || early })
    })
    s.on('accepted', () => this.patch(call, { state: 'connected', answeredAt: Date.now(), sipStatus: 200 }))
    s.on('confirmed', () => this.patch(call, { state: this.holdState(s) }))
    s.on('hold', (ev) => {
      this.patch(call, { state: this.holdState(s) })
      if (ev.originator === 'local') void this.sendAudio(call, false)
    })
    s.on('unhold', (ev) => {
      this.patch(call, { state: this.holdState(s) })
      if (ev.originator === 'local') void this.sendAudio(call, true)
    })
    s.on('muted', () => this.patch(call, { muted: s.isMuted().audio ?? false }))
    s.on('unmuted', () => this.patch(call, { muted: s.isMuted().audio ?? false }))
    s.on('newInfo', (ev: InfoEvent) => {
      if (ev.originator !== 'remote' || this.current !== call) return
      if ((ev.info.contentType ?? '').toLowerCase().startsWith(ROSTER_CONTENT_TYPE)) this.joinConference(call, ev.info.body ?? undefined)
    })
    s.on('refer', (ev: ReferEvent) => {
      // The far end transfers us (blind): call the target with a fresh microphone.
      this.dial((options) => ev.accept(undefined, options)).catch((err: unknown) => console.error('transfer failed', err))
    })
    const ended = (ev: { originator: string; cause: string; message?: unknown }) => {
      if (gatheringTimer) clearTimeout(gatheringTimer)
      call.relays?.close()
      const status = statusOf(ev.message)
      const endedAt = Date.now()
      this.patch(call, { state: 'ended', endedAt, endCause: ev.cause, sipStatus: call.view.answeredAt !== null ? call.view.sipStatus : (status ?? call.view.sipStatus) })
      stopStream(call.stream)
      const v = call.view
      this.opts.onCallEnded(
        buildCallRecord({
          id: v.id,
          direction: v.direction,
          peer: v.peer,
          peerName: v.peerName,
          startedAt: v.startedAt,
          answeredAt: v.answeredAt,
          endedAt,
          endedBy: ev.originator === 'local' ? 'local' : ev.originator === 'remote' ? 'remote' : 'system',
          cause: call.localEnd === 'busy' ? 'Busy' : ev.cause,
          sipStatus: v.sipStatus
        })
      )
      if (this.current === call) this.lingerTimer = setTimeout(() => this.clear(call), this.opts.lingerMs ?? 4000)
    }
    s.on('ended', ended)
    s.on('failed', ended)
  }

  private holdState(s: RTCSession): CallState {
    const hold = s.isOnHold()
    return hold.local || hold.remote ? 'on-hold' : 'connected'
  }

  private patch(call: ActiveCall, change: Partial<CallView>): void {
    if (call.view.state === 'ended' && change.state !== undefined) return
    call.view = { ...call.view, ...change }
    if (this.current === call) this.emit({ call: call.view })
  }

  private clear(call: ActiveCall): void {
    if (this.current !== call) return
    this.current = null
    this.audio.srcObject = null
    this.emit({ call: null })
  }

  /** A device came or went, or the user chose another: move output, and the microphone if needed. */
  private async followDevices(): Promise<void> {
    const call = this.current
    await this.opts.devices.routeOutput(this.audio)
    const track = call?.stream?.getAudioTracks()[0]
    const pc = call?.session.connection
    if (!call || !track || !pc || call.view.state === 'ended') return
    if (!(await this.opts.devices.inputNeedsSwitch(track))) return
    const fresh = await this.opts.devices.openInput()
    const freshTrack = fresh.getAudioTracks()[0]
    if (!freshTrack) return
    freshTrack.enabled = !call.view.muted
    const old = call.stream
    call.stream = fresh
    // While held nothing is sent; resuming picks the fresh track up.
    if (call.view.state !== 'on-hold' || !call.session.isOnHold().local) await this.audioSender(call)?.replaceTrack(freshTrack)
    stopStream(old)
  }

  private audioSender(call: ActiveCall): RTCRtpSender | null {
    call.sender ??= call.session.connection?.getSenders().find((x) => x.track?.kind === 'audio') ?? null
    return call.sender
  }

  /**
   * Stop or restart sending while we hold the call. JsSIP offers a=sendonly
   * (RFC 6337 §5.3) and only disables the track, which still sends silence;
   * with no track the sender sends no RTP at all until the call resumes.
   */
  private async sendAudio(call: ActiveCall, on: boolean): Promise<void> {
    const sender = this.audioSender(call)
    const track = on ? (call.stream?.getAudioTracks()[0] ?? null) : null
    if (track) track.enabled = !call.view.muted
    await sender?.replaceTrack(track).catch((err: unknown) => console.warn('replaceTrack failed', err))
  }

  private setRegistration(registration: RegistrationState, error: string | null): void {
    this.emit({ registration, registrationError: error })
  }

  private emit(change: Partial<PhoneState>): void {
    this.state = { ...this.state, ...change }
    for (const fn of this.listeners) fn(this.state)
  }
}

function statusOf(message: unknown): number | null {
  const code = (message as { status_code?: unknown } | null | undefined)?.status_code
  return typeof code === 'number' ? code : null
}

function stopStream(stream: MediaStream | null): void {
  for (const t of stream?.getTracks() ?? []) t.stop()
}
