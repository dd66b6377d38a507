import type * as JsSIP from 'jssip'
import type { RTCSession } from 'jssip/lib/RTCSession'
import type { RTCSessionEvent } from 'jssip/lib/UA'
import { probeDialog, watchMedia, type MediaWatch } from './media-watch.js'
import { MixerGraph, SELF } from './mixer-graph.js'
import {
  CONFERENCE_HEADER,
  MAX_MEMBERS,
  REPORT_CONTENT_TYPE,
  ROSTER_CONTENT_TYPE,
  betterMixer,
  decodeReport,
  decodeRoster,
  electMixer,
  newConferenceId,
  parseConferenceHeader,
  type Capacity,
  type MemberReport,
  type Roster,
  type RosterMember
} from './roster.js'

/** What the page needs from the phone to run a conference on its user agent. */
export interface ConferenceHost {
  ua: JsSIP.UA
  self: { aor: string; name: string | null }
  /** This peer's af() and role, from its status. */
  capacity(): Promise<Capacity>
  pcConfig: RTCConfiguration
  /** Every change; null once the conference is over for this user. */
  onChange(view: ConferenceView | null): void
}

export interface ConferenceView {
  id: string
  role: 'mixer' | 'member'
  /** `handoff`: moving to a new mixer (planned or after losing one); audio may drop for a moment. */
  state: 'active' | 'handoff'
  mixer: string
  successor: string | null
  members: RosterMember[]
  muted: boolean
  volumes: Record<string, number>
  /** The last thing that went wrong (an invitee who did not answer), for the UI. */
  notice: string | null
}

/** JsSIP's `newInfo` event, as read here (its typings make the listener a union). */
export interface InfoEvent {
  originator: string
  info: { contentType?: string | null; body?: string | null }
}

interface Leg {
  aor: string
  session: RTCSession
  connected: boolean
  watch: MediaWatch | null
}

/** A capacity for a member that has not reported one yet: average, so it neither wins nor loses. */
const UNKNOWN_CAPACITY: Capacity = { score: 0.5, supernode: false, capable: true }
/** How long a mixer leaving by hand keeps mixing for members still moving. */
const HANDOFF_GRACE_MS = 8000
/** How long a planned move keeps playing the old mix while the new one fills up. */
const SWITCH_WAIT_MS = 3000
/** JsSIP's cause for a BYE from the far end (JsSIP.C.causes.BYE). */
const BYE_CAUSE = 'Terminated'
/** On the BYE a member sends its old mixer after moving: where the conference is now. */
const MOVED_HEADER = 'X-Parley-Conference-Moved'
/** Redirects a move follows (a member sends the mover on to its mixer). */
const MAX_REDIRECTS = 3
/** How long a new mixer waits for the old roster's members before dropping them. */
const JOIN_GRACE_MS = 10_000
const SPEAKING_POLL_MS = 400
const ICE_GATHERING_WAIT_MS = 1000
const OFFER_CONSTRAINTS: RTCOfferOptions = { offerToReceiveAudio: true, offerToReceiveVideo: false }

/**
 * A conference on the user's JsSIP UA, as mixer or member (docs/conference.md).
 * The mixer holds one dialog per member and sends each the mix of everyone
 * else (MixerGraph); a member holds one dialog, with the mixer. The roster
 * travels in INFO from the mixer; when the mixer leaves or is lost, every
 * member elects the same successor from the last roster (electMixer) and
 * re-INVITEs it with `X-Parley-Conference: <id>;handoff`.
 */
export class Conference {
  private role: 'mixer' | 'member'
  private roster: Roster
  private readonly legs = new Map<string, Leg>()
  private graph: MixerGraph | null = null
  private readonly audio: HTMLAudioElement
  private muted = false
  private volumes: Record<string, number> = {}
  private capacity: Capacity = UNKNOWN_CAPACITY
  /** Until this peer's own af() is in, no handoff is judged on it. */
  private capacityKnown = false
  private dialing: ((s: RTCSession) => void) | null = null
  private ended = false
  private notice: string | null = null
  /** Mixers this member lost or could not reach, left out of the next election. */
  private readonly excluded = new Set<string>()
  private handoff = false
  private timers: ReturnType<typeof setTimeout>[] = []
  /** A new mixer: the members the last roster named, until they have all moved to us. */
  private expected = new Set<string>()
  /** A new mixer after a planned handoff: our dialog with the old one, until the move is through. */
  private readonly retiring: Leg[] = []
  /** A member after a planned move: the new mixer's leg, played once the new mix holds everyone. */
  private switching: { leg: Leg; expected: string[]; now: () => void } | null = null
  private speakingTimer: ReturnType<typeof setInterval> | null = null

  private constructor(
    private readonly host: ConferenceHost,
    private readonly mic: MediaStream,
    roster: Roster,
    role: 'mixer' | 'member'
  ) {
    this.roster = roster
    this.role = role
    this.audio = document.createElement('audio')
    this.audio.autoplay = true
    this.audio.dataset.testid = 'conference-audio'
    document.body.append(this.audio)
    void host.capacity().then(
      (c) => {
        this.capacity = c
        this.capacityKnown = true
        if (this.role === 'mixer') this.updateMember(host.self.aor, c)
        else this.report({ capacity: c })
      },
      () => undefined
    )
  }

  /** Turn a 1:1 call into a conference mixed here; `peer` is the other party. */
  static fromCall(host: ConferenceHost, session: RTCSession, mic: MediaStream, peer: { aor: string; name: string | null }): Conference {
    const self: RosterMember = { aor: host.self.aor, name: host.self.name, muted: false, speaking: false, ...UNKNOWN_CAPACITY }
    const roster: Roster = { conference: newConferenceId(), version: 0, mixer: host.self.aor, state: 'active', successor: null, members: [self] }
    const c = new Conference(host, mic, roster, 'mixer')
    c.startMixing()
    c.adoptMemberLeg(peer.aor, peer.name, session)
    return c
  }

  /** Join as a member over a call whose far end (the mixer) sent this roster. */
  static asMember(host: ConferenceHost, session: RTCSession, mic: MediaStream, roster: Roster): Conference {
    const c = new Conference(host, mic, roster, 'member')
    c.adoptMixerLeg(roster.mixer, session)
    return c
  }

  get id(): string {
    return this.roster.conference
  }

  view(): ConferenceView {
    return {
      id: this.roster.conference,
      role: this.role,
      state: this.handoff || this.roster.state === 'handoff' ? 'handoff' : 'active',
      mixer: this.roster.mixer,
      successor: this.roster.successor,
      members: this.roster.members.map((m) => ({ ...m })),
      muted: this.muted,
      volumes: { ...this.volumes },
      notice: this.notice
    }
  }

  /**
   * The UA made a session: is it one of ours? Outgoing ones are while we dial;
   * incoming ones carry this conference's header (a member moving to us).
   */
  claim(e: RTCSessionEvent): boolean {
    if (this.ended) return false
    const session = e.session
    if (e.originator === 'local') {
      if (!this.dialing) return false
      this.dialing(session)
      return true
    }
    const header = parseConferenceHeader(e.request.getHeader(CONFERENCE_HEADER) as string | undefined)
    if (!header || header.id !== this.roster.conference) return false
    if (!header.handoff || this.memberCount() >= MAX_MEMBERS) session.terminate({ status_code: 486, reason_phrase: 'Busy Here' })
    else if (this.shouldMix()) this.acceptMover(session)
    else {
      // Our mixer is alive: one conference, one mixer — send the mover there.
      session.terminate({ status_code: 302, reason_phrase: 'Moved Temporarily', extraHeaders: [`Contact: <${this.roster.mixer}>`] })
    }
    return true
  }

  /** Invite someone: the mixer calls them; a member asks the mixer to. */
  invite(aor: string): void {
    if (this.ended) return
    if (this.role === 'member') return this.report({ invite: aor })
    if (this.roster.members.some((m) => m.aor === aor) || this.legs.has(aor)) return this.setNotice(`${aor} is already in the conference`)
    if (this.memberCount() >= MAX_MEMBERS) return this.setNotice(`a conference holds at most ${MAX_MEMBERS} people`)
    const track = this.graph!.addListener(aor)
    const session = this.dial(aor, new MediaStream([track]), this.roster.conference)
    if (!session) return this.graph!.removeMember(aor)
    this.addLeg(aor, session, null)
  }

  toggleMute(): void {
    this.muted = !this.muted
    if (this.role === 'mixer') {
      this.graph?.muteMic(this.muted)
      this.updateMember(this.host.self.aor, { muted: this.muted })
    } else {
      for (const t of this.mic.getAudioTracks()) t.enabled = !this.muted
      this.report({ muted: this.muted })
      this.changed()
    }
  }

  /** How loud `aor` is in what this user hears. */
  setVolume(aor: string, volume: number): void {
    this.volumes = { ...this.volumes, [aor]: volume }
    if (this.role === 'mixer') this.graph?.setVolume(SELF, aor, volume)
    else this.report({ volumes: this.volumes })
    this.changed()
  }

  /** Leave: a mixer hands over first, then drops; a member just hangs up. */
  leave(): void {
    if (this.ended) return
    if (this.role === 'member') return this.end()
    const successor = electMixer(this.joinedMembers(), new Set([this.host.self.aor]))
    if (!successor) return this.end()
    this.handOver(successor)
    this.timers.push(setTimeout(() => this.end(), HANDOFF_GRACE_MS))
  }

  // ── mixer ────────────────────────────────────────────────────────────────

  private startMixing(): void {
    this.role = 'mixer'
    this.graph = new MixerGraph(this.mic)
    this.graph.muteMic(this.muted)
    for (const t of this.mic.getAudioTracks()) t.enabled = true
    this.audio.srcObject = this.graph.localStream
    this.speakingTimer = setInterval(() => this.pollSpeaking(), SPEAKING_POLL_MS)
  }

  /** A dialog that exists already (the 1:1 call): send it its mix instead of the microphone. */
  private adoptMemberLeg(aor: string, name: string | null, session: RTCSession): void {
    const track = this.graph!.addListener(aor)
    const pc = session.connection
    const sender = pc?.getSenders().find((s) => s.track?.kind === 'audio') ?? pc?.getSenders()[0]
    void sender?.replaceTrack(track).catch((err: unknown) => console.warn('conference: replaceTrack failed', err))
    const leg = this.addLeg(aor, session, name)
    const remote = remoteAudio(session)
    if (remote) this.graph!.setInput(aor, new MediaStream([remote]))
    this.legJoined(leg, name)
  }

  /**
   * A member moves to us: do we mix? Yes if we do already, if the roster names us
   * successor, or if our own mixer has gone quiet (it died and the mover noticed
   * first). A member whose mixer is plainly alive redirects the mover to it, so
   * diverging views of who died merge back into one conference.
   */
  private shouldMix(): boolean {
    if (this.role === 'mixer') return true
    if (this.roster.state === 'handoff' && this.roster.successor === this.host.self.aor) return true
    const leg = this.legs.get(this.roster.mixer)
    return !leg?.connected || (leg.watch?.silentFor() ?? 0) > 1000
  }

  /** A member moving to us after a handoff: answer with their mix. */
  private acceptMover(session: RTCSession): void {
    if (this.role === 'member') this.becomeMixer()
    const aor = session.remote_identity.uri.toAor()
    const stale = this.legs.get(aor)
    if (stale) this.dropLeg(stale, false)
    const track = this.graph!.addListener(aor)
    this.addLeg(aor, session, session.remote_identity.display_name || null)
    session.answer({ mediaStream: new MediaStream([track]), pcConfig: this.host.pcConfig })
  }

  /** This member is the successor: mix from now on, for the members the last roster named. */
  private becomeMixer(): void {
    const oldMixer = this.roster.mixer
    const oldRoster = this.roster.members
    // Planned: the old mixer still mixes for those not yet moved, our voice included; keep
    // our dialog with it until they have. Lost: nothing to keep.
    const planned = this.roster.state === 'handoff'
    for (const leg of [...this.legs.values()]) {
      if (!planned) {
        this.dropLeg(leg, false)
        hangUp(leg.session, [`${MOVED_HEADER}: ${this.host.self.aor}`])
      } else {
        leg.watch?.stop()
        leg.connected = false
        this.legs.delete(leg.aor)
        this.retiring.push(leg)
      }
    }
    const expected = this.roster.members.filter((m) => m.aor !== oldMixer && m.aor !== this.host.self.aor).map((m) => m.aor)
    this.expected = new Set(expected)
    const self = this.roster.members.find((m) => m.aor === this.host.self.aor)
    this.roster = {
      ...this.roster,
      version: this.roster.version + 1,
      mixer: this.host.self.aor,
      state: 'active',
      successor: null,
      members: [{ ...(self ?? { aor: this.host.self.aor, name: this.host.self.name, speaking: false, ...this.capacity }), muted: this.muted }]
    }
    this.startMixing()
    // Until the move is through, the old mix is what holds everyone.
    const oldMix = this.retiring[0] && remoteAudio(this.retiring[0].session)
    if (oldMix) this.audio.srcObject = new MediaStream([oldMix])
    this.handoff = expected.length > 0
    if (!this.handoff) this.retire()
    this.changed()
    // Whoever has not arrived by then is gone too.
    this.timers.push(setTimeout(() => this.retire(), SWITCH_WAIT_MS))
    const previous = candidatesOf(this.roster.members, oldRoster)
    this.timers.push(
      setTimeout(() => {
        if (this.ended || this.role !== 'mixer') return
        this.handoff = false
        for (const aor of expected) if (!this.legs.has(aor)) this.graph?.removeMember(aor)
        this.expected.clear()
        // Nobody came: they chose another successor (they saw other members die). Join them.
        if (expected.length && this.legs.size === 0) return this.rejoin(previous)
        this.changed()
      }, JOIN_GRACE_MS)
    )
  }

  /** A mixer nobody is with any more rejoins the conference where its members went. */
  private rejoin(candidates: RosterMember[], to?: string): void {
    this.stopMixing()
    this.role = 'member'
    this.excluded.add(this.host.self.aor)
    const next = to ?? electMixer(candidates, this.excluded)
    if (!next) return this.end()
    this.roster = { ...this.roster, mixer: next, members: candidates, state: 'active', successor: null }
    this.moveTo(next)
  }

  /** The handoff is through (or took too long): hang up on the old mixer. */
  private retire(): void {
    for (const leg of this.retiring.splice(0)) hangUp(leg.session)
    if (this.graph) this.audio.srcObject = this.graph.localStream
  }

  private handOver(successor: string): void {
    this.roster = { ...this.roster, version: this.roster.version + 1, state: 'handoff', successor }
    this.broadcast(false)
    this.changed()
  }

  private legJoined(leg: Leg, name: string | null): void {
    leg.connected = true
    if (!this.roster.members.some((m) => m.aor === leg.aor)) {
      this.roster.members.push({ aor: leg.aor, name, muted: false, speaking: false, ...UNKNOWN_CAPACITY })
    }
    const pc = leg.session.connection
    if (pc) this.watchLeg(leg, pc, () => this.dropLeg(leg, true))
    if (this.expectedArrived()) {
      this.handoff = false
      this.retire()
    }
    this.broadcast()
  }

  private expectedArrived(): boolean {
    return [...this.expected].every((aor) => this.legs.get(aor)?.connected)
  }

  private onReport(leg: Leg, report: MemberReport): void {
    if (report.conference !== this.roster.conference) return
    if (report.volumes) for (const [source, v] of Object.entries(report.volumes)) this.graph?.setVolume(leg.aor, source === this.host.self.aor ? SELF : source, v)
    const change: Partial<RosterMember> = {}
    if (report.capacity) Object.assign(change, report.capacity)
    if (report.muted !== undefined) change.muted = report.muted
    if (Object.keys(change).length) this.updateMember(leg.aor, change)
    if (report.invite) this.invite(report.invite)
    if (report.capacity && this.capacityKnown && this.roster.state === 'active') {
      const better = betterMixer(this.roster)
      if (better) this.handOverAndStay(better)
    }
  }

  /** A better mixer joined: hand over, and move to it as a member like everyone else. */
  private handOverAndStay(successor: string): void {
    this.handOver(successor)
    this.timers.push(
      setTimeout(() => {
        if (this.ended || this.role !== 'mixer') return
        const mixed = this.roster
        // The members are moving too; each hangs up on us once it has; the stragglers later.
        const leftover = [...this.legs.values()]
        this.legs.clear()
        for (const leg of leftover) leg.watch?.stop()
        this.timers.push(setTimeout(() => leftover.forEach((leg) => hangUp(leg.session)), HANDOFF_GRACE_MS))
        this.stopMixing()
        this.role = 'member'
        this.roster = { ...mixed, state: 'active', successor: null }
        this.moveTo(successor)
      }, 300)
    )
  }

  private stopMixing(): void {
    if (this.speakingTimer) clearInterval(this.speakingTimer)
    this.speakingTimer = null
    void this.graph?.close()
    this.graph = null
  }

  private updateMember(aor: string, change: Partial<RosterMember>): void {
    const i = this.roster.members.findIndex((m) => m.aor === aor)
    if (i < 0) return
    this.roster.members[i] = { ...this.roster.members[i]!, ...change }
    this.broadcast()
  }

  private pollSpeaking(): void {
    if (!this.graph) return
    const loud = this.graph.speaking()
    let moved = false
    for (const m of this.roster.members) {
      const speaking = loud.has(m.aor === this.host.self.aor ? SELF : m.aor)
      if (m.speaking !== speaking) {
        m.speaking = speaking
        moved = true
      }
    }
    if (moved) this.broadcast()
  }

  /** Send the roster to every member that has joined (a new version each time). */
  private broadcast(bump = true): void {
    if (this.role !== 'mixer') return
    if (bump) this.roster = { ...this.roster, version: this.roster.version + 1 }
    this.roster.members = this.roster.members.filter((m) => m.aor === this.host.self.aor || this.legs.get(m.aor)?.connected)
    const body = JSON.stringify(this.roster)
    for (const leg of this.legs.values()) {
      if (!leg.connected) continue
      try {
        leg.session.sendInfo(ROSTER_CONTENT_TYPE, body)
      } catch (err) {
        console.warn('conference: roster INFO failed', err)
      }
    }
    this.changed()
  }

  private joinedMembers(): RosterMember[] {
    return this.roster.members.filter((m) => m.aor !== this.host.self.aor && this.legs.get(m.aor)?.connected)
  }

  private memberCount(): number {
    return 1 + this.legs.size
  }

  // ── member ───────────────────────────────────────────────────────────────

  private adoptMixerLeg(mixer: string, session: RTCSession): void {
    const leg = this.addLeg(mixer, session, null)
    leg.connected = true
    const pc = session.connection
    const remote = remoteAudio(session)
    if (remote) this.audio.srcObject = new MediaStream([remote])
    if (pc) this.watchLeg(leg, pc, () => this.lostMixer(leg))
    this.changed()
  }

  private onRoster(leg: Leg, roster: Roster): void {
    // A leg we are moving away from (connected: false) has nothing more to say.
    if (this.role !== 'member' || !leg.connected || leg.aor !== roster.mixer || roster.conference !== this.roster.conference) return
    if (roster.version < this.roster.version && roster.mixer === this.roster.mixer) return
    // Already moving: later rosters of the leaving mixer change nothing.
    if (roster.state === 'handoff' && this.roster.state === 'handoff') return
    this.roster = roster
    this.handoff = false
    if (roster.state === 'handoff') {
      if (roster.successor === this.host.self.aor) this.becomeMixer()
      else if (roster.successor) this.moveTo(roster.successor, true)
      else this.end()
      return
    }
    const sw = this.switching
    if (sw && sw.leg === leg && sw.expected.every((aor) => roster.members.some((m) => m.aor === aor))) sw.now()
    this.changed()
  }

  /** The mixer stopped sending, or hung up without handing over: elect its successor from the last roster. */
  private lostMixer(leg: Leg): void {
    if (this.ended || this.role !== 'member' || this.legs.get(leg.aor) !== leg) return
    // Kept until we have moved: the BYE then says where to (if it was alive after all, it follows).
    leg.watch?.stop()
    leg.connected = false
    this.excluded.add(leg.aor)
    const successor = electMixer(this.roster.members, this.excluded)
    if (!successor) return this.end()
    if (successor === this.host.self.aor) return this.becomeMixer()
    this.moveTo(successor)
  }

  /**
   * Re-INVITE the successor; once it answers, listen to it and leave the old
   * mixer — after a planned handoff only once the new mix holds everyone (the
   * old mixer still mixes meanwhile), so the move makes no gap.
   */
  private moveTo(successor: string, planned = false, redirects = 0): void {
    const expected = this.roster.members.filter((m) => m.aor !== this.roster.mixer && m.aor !== this.host.self.aor).map((m) => m.aor)
    this.handoff = true
    // The old mixer's dialog stays up (planned handoff: it still mixes) but its loss no longer counts.
    for (const other of this.legs.values()) {
      other.watch?.stop()
      other.connected = false
    }
    this.changed()
    const session = this.dial(successor, this.mic, `${this.roster.conference};handoff`)
    if (!session) return
    const leg = this.addLeg(successor, session, null)
    session.on('accepted', () => {
      if (this.ended) return
      const old = [...this.legs.values()].filter((other) => other !== leg)
      leg.connected = true
      const pc = session.connection
      const remote = remoteAudio(session)
      const now = () => {
        if (this.switching?.leg === leg) this.switching = null
        if (remote) this.audio.srcObject = new MediaStream([remote])
        for (const other of old) {
          this.dropLeg(other, false)
          hangUp(other.session, [`${MOVED_HEADER}: ${successor}`])
        }
        this.changed()
      }
      if (planned && old.length) {
        this.switching = { leg, expected, now }
        this.timers.push(setTimeout(() => this.switching?.leg === leg && now(), SWITCH_WAIT_MS))
      } else now()
      if (pc) this.watchLeg(leg, pc, () => this.lostMixer(leg))
      this.roster = { ...this.roster, mixer: successor, state: 'active', successor: null }
      this.handoff = true // until the new mixer's first roster
      this.report({ capacity: this.capacity, muted: this.muted, volumes: this.volumes })
      this.changed()
    })
    session.on('failed', (ev: { cause?: string; message?: { status_code?: number; getHeader?: (name: string) => string | undefined } }) => {
      if (this.ended || this.legs.get(successor) !== leg) return
      this.legs.delete(successor)
      const contact = ev.message?.status_code === 302 ? /<([^>]+)>/.exec(ev.message.getHeader?.('Contact') ?? '')?.[1] : undefined
      if (contact && redirects < MAX_REDIRECTS && contact !== this.host.self.aor) return this.moveTo(contact, planned, redirects + 1)
      this.excluded.add(successor)
      const next = electMixer(this.roster.members, new Set([...this.excluded, this.roster.mixer]))
      if (!next) return this.end()
      if (next === this.host.self.aor) return this.becomeMixer()
      this.moveTo(next)
    })
  }

  private report(fields: Omit<MemberReport, 'conference'>): void {
    if (this.role !== 'member') return
    const leg = this.legs.get(this.roster.mixer)
    if (!leg?.connected) return
    try {
      leg.session.sendInfo(REPORT_CONTENT_TYPE, JSON.stringify({ conference: this.roster.conference, ...fields }))
    } catch (err) {
      console.warn('conference: report INFO failed', err)
    }
  }

  // ── both ─────────────────────────────────────────────────────────────────

  private dial(target: string, stream: MediaStream, header: string): RTCSession | null {
    let made: RTCSession | null = null
    this.dialing = (s) => (made = s)
    try {
      this.host.ua.call(target, {
        mediaStream: stream,
        pcConfig: this.host.pcConfig,
        rtcOfferConstraints: OFFER_CONSTRAINTS,
        extraHeaders: [`${CONFERENCE_HEADER}: ${header}`]
      })
    } catch (err) {
      this.setNotice(`could not call ${target}: ${(err as Error).message}`)
    } finally {
      this.dialing = null
    }
    return made
  }

  private addLeg(aor: string, session: RTCSession, name: string | null): Leg {
    const leg: Leg = { aor, session, connected: false, watch: null }
    this.legs.set(aor, leg)
    let gathering: ReturnType<typeof setTimeout> | null = null
    session.on('icecandidate', (ev) => {
      gathering ??= setTimeout(ev.ready, ICE_GATHERING_WAIT_MS)
    })
    const onTrack = (ev: RTCTrackEvent) => {
      if (this.role === 'mixer' && this.legs.get(aor) === leg) this.graph?.setInput(aor, ev.streams[0] ?? new MediaStream([ev.track]))
    }
    if (session.connection) session.connection.addEventListener('track', onTrack)
    else session.on('peerconnection', (ev) => ev.peerconnection.addEventListener('track', onTrack))
    session.on('newInfo', (ev: InfoEvent) => {
      if (ev.originator !== 'remote' || this.legs.get(aor) !== leg) return
      const type = (ev.info.contentType ?? '').toLowerCase()
      if (type.startsWith(ROSTER_CONTENT_TYPE)) {
        const roster = decodeRoster(ev.info.body ?? undefined)
        if (roster) this.onRoster(leg, roster)
      } else if (type.startsWith(REPORT_CONTENT_TYPE) && this.role === 'mixer') {
        const report = decodeReport(ev.info.body ?? undefined)
        if (report) this.onReport(leg, report)
      }
    })
    session.on('confirmed', () => {
      if (this.role === 'mixer' && this.legs.get(aor) === leg && !leg.connected) this.legJoined(leg, name ?? (session.remote_identity.display_name || null))
    })
    const gone = (ev: { originator?: string; cause?: string; message?: { getHeader?: (name: string) => string | undefined } }) => {
      if (gathering) clearTimeout(gathering)
      if (this.legs.get(aor) !== leg) return
      if (this.role === 'mixer') {
        if (!leg.connected && session.direction === 'outgoing') this.setNotice(`${aor} did not join (${ev.cause ?? 'no answer'})`)
        const movedTo = ev.message?.getHeader?.(MOVED_HEADER)?.trim()
        const members = this.roster.members
        this.dropLeg(leg, false)
        if (this.roster.state === 'handoff' && this.legs.size === 0) this.end()
        // Our members thought us dead and moved on: follow them, one conference stays one.
        else if (movedTo && movedTo !== this.host.self.aor && this.legs.size === 0) this.rejoin(members, movedTo)
      } else if (leg.connected && ev.originator === 'remote' && ev.cause === BYE_CAUSE) {
        // The mixer hung up on us without a handoff: it is alive and dropped us (it thought us
        // gone). Ask it to take us back rather than starting a conference of our own.
        leg.watch?.stop()
        leg.connected = false
        this.moveTo(aor)
      } else if (leg.connected) this.lostMixer(leg)
    }
    session.on('ended', gone)
    session.on('failed', gone)
    return leg
  }

  private dropLeg(leg: Leg, hangUpToo: boolean): void {
    leg.watch?.stop()
    if (this.legs.get(leg.aor) === leg) this.legs.delete(leg.aor)
    if (hangUpToo) hangUp(leg.session)
    if (this.role === 'mixer') {
      this.graph?.removeMember(leg.aor)
      this.broadcast()
    }
  }

  /**
   * Watch a leg's media; when it goes quiet, ask the far end over SIP before
   * giving up on it (an overloaded machine stalls media, a dead one answers nothing).
   */
  private watchLeg(leg: Leg, pc: RTCPeerConnection, lost: () => void): void {
    leg.watch = watchMedia(pc, () => {
      void probeDialog(leg.session as unknown as Parameters<typeof probeDialog>[0]).then((alive) => {
        if (this.ended || this.legs.get(leg.aor) !== leg || !leg.connected) return
        if (alive) this.watchLeg(leg, pc, lost)
        else lost()
      })
    })
  }

  private setNotice(notice: string): void {
    this.notice = notice
    this.changed()
  }

  private changed(): void {
    if (!this.ended) this.host.onChange(this.view())
  }

  private end(): void {
    if (this.ended) return
    this.ended = true
    for (const t of this.timers) clearTimeout(t)
    for (const leg of [...this.legs.values()]) {
      leg.watch?.stop()
      hangUp(leg.session)
    }
    this.legs.clear()
    this.stopMixing()
    for (const t of this.mic.getTracks()) t.stop()
    this.audio.srcObject = null
    this.audio.remove()
    this.host.onChange(null)
  }
}

/** Everyone but oneself from the mixer's last roster and the one before it: who might be mixing now. */
function candidatesOf(now: RosterMember[], before: RosterMember[]): RosterMember[] {
  const all = new Map(before.map((m) => [m.aor, m]))
  for (const m of now) all.set(m.aor, m)
  return [...all.values()]
}

/** The audio a dialog receives, once its peer connection has it. */
function remoteAudio(session: RTCSession): MediaStreamTrack | undefined {
  return session.connection?.getReceivers().find((r) => r.track.kind === 'audio')?.track
}

function hangUp(session: RTCSession, extraHeaders: string[] = []): void {
  if (session.isEnded()) return
  try {
    session.terminate({ extraHeaders })
  } catch {
    // ended meanwhile
  }
}
