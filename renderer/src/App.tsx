import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { ApiClient } from '../../app/api/client.js'
import type { Identity } from '../../app/api/contract.js'
import { ApiContext, errorText, useApi, useApiEvent, useBuddies, useMailbox, usePresence, useSettings } from './api.js'
import { sameAor, toAor } from './aor-input.js'
import { connectDesktopShell } from './desktop/desktop-shell.js'
import { parseRoute } from './desktop/routes.js'
import { connectApi, desktopBridge } from './platform.js'
import { useCallAlerts } from './phone/use-call-alerts.js'
import { useCallQuality } from './phone/use-call-quality.js'
import { useDtmfKeyboard } from './phone/use-dtmf-keyboard.js'
import { usePhone } from './phone/use-phone.js'
import { offersVoicemail } from './phone/voicemail-offer.js'
import { Buddies } from './views/Buddies.js'
import { CallPanel, type CallActions } from './views/CallPanel.js'
import { ConferencePanel, type ConferenceActions } from './views/ConferencePanel.js'
import { Chat } from './views/Chat.js'
import { DialPad } from './views/DialPad.js'
import { FirstRun } from './views/FirstRun.js'
import { History } from './views/History.js'
import { LeaveVoicemail, type VoicemailTarget } from './views/LeaveVoicemail.js'
import { NodeView } from './views/NodeView.js'
import { Overlay } from './views/Overlay.js'
import { SettingsView } from './views/Settings.js'
import { Sidebar, type ViewName } from './views/Sidebar.js'
import { Voicemail } from './views/Voicemail.js'

let connecting: Promise<ApiClient> | null = null

/** Connects to the peer, then shows first run or the main view. */
export function App() {
  const [api, setApi] = useState<ApiClient | null>(null)
  const [lost, setLost] = useState<string | null>(null)
  useEffect(() => {
    connecting ??= connectApi()
    connecting.then(
      (client) => {
        setApi(client)
        client.on('close', (reason) => setLost(`The connection to the peer closed (${reason}).`))
      },
      (err: unknown) => setLost(errorText(err))
    )
  }, [])

  if (lost)
    return (
      <main className="notice" role="alert">
        <h1>Parley</h1>
        <p>{lost}</p>
        <button type="button" onClick={() => location.reload()}>
          Reconnect
        </button>
      </main>
    )
  if (!api)
    return (
      <main className="notice" role="status">
        Connecting to the peer…
      </main>
    )
  return (
    <ApiContext value={api}>
      <Session />
    </ApiContext>
  )
}

function Session() {
  const api = useApi()
  const [identity, setIdentity] = useState<Identity | null>(null)
  const [firstRun, setFirstRun] = useState(false)
  useEffect(() => {
    api.call('identity.get').then((id) => {
      if (id.state === 'setup') setFirstRun(true)
      setIdentity(id)
    }, console.error)
  }, [api])
  useApiEvent('identity', (id) => {
    if (id.state === 'setup') setFirstRun(true)
    setIdentity(id)
  })

  if (!identity) return <main className="notice">Loading…</main>
  if (firstRun || identity.state === 'setup') return <FirstRun identity={identity} onDone={() => setFirstRun(false)} />
  if (identity.state !== 'running' || !identity.aor)
    return (
      <main className="notice" role="status">
        {identity.state === 'failed' ? 'The peer did not start.' : 'Joining the overlay…'}
      </main>
    )
  return <MainView identity={identity} aor={identity.aor} />
}

function MainView({ identity, aor }: { identity: Identity; aor: string }) {
  const [settings, updateSettings] = useSettings()
  const [presence, setPresence] = usePresence()
  const { buddies, add, remove, acceptKey } = useBuddies()
  const { phone, state, devices } = usePhone(aor, identity.displayName, settings)
  const mailbox = useMailbox()
  const [view, setView] = useState<ViewName>('buddies')
  const [chatPeer, setChatPeer] = useState<string | null>(null)
  const [dial, setDial] = useState('')
  const [callError, setCallError] = useState<string | null>(null)
  const [voicemailFor, setVoicemailFor] = useState<VoicemailTarget | null>(null)
  const closeVoicemail = useCallback(() => setVoicemailFor(null), [])
  const call = state.call
  const talking = call?.state === 'connected' || call?.state === 'on-hold'
  const inCall = (call !== null && call.state !== 'ended') || state.conference !== null

  // An outgoing call nobody took: offer a voice message, once per call.
  const offeredFor = useRef<string | null>(null)
  useEffect(() => {
    if (!call || call.state !== 'ended' || offeredFor.current === call.id) return
    offeredFor.current = call.id
    const buddy = buddies.find((b) => sameAor(b.aor, call.peer))
    if (offersVoicemail(call, { buddy: buddy !== undefined })) setVoicemailFor({ callId: call.id, peer: buddy?.aor ?? call.peer, peerName: call.peerName ?? buddy?.displayName ?? null })
  }, [call, buddies])

  useEffect(() => {
    document.documentElement.dataset.theme = settings.theme
  }, [settings.theme])

  const startCall = useCallback(
    (input: string) => {
      const target = toAor(input, aor)
      if (!target) return
      const buddy = buddies.find((b) => sameAor(b.aor, target))
      if (buddy?.identity.state === 'changed') return setCallError(`${target}'s identity key changed: accept the new key in the buddy list first.`)
      setCallError(null)
      phone.call(target).catch((err: unknown) => setCallError(errorText(err)))
    },
    [aor, buddies, phone]
  )

  const actions: CallActions = useMemo(
    () => ({
      answer: () => void phone.answer().catch((err: unknown) => setCallError(errorText(err))),
      decline: () => phone.decline(),
      hangup: () => phone.hangup(),
      toggleMute: () => phone.toggleMute(),
      toggleHold: () => phone.toggleHold(),
      transfer: (target: string) => phone.transfer(toAor(target, aor)),
      dtmf: (tone) => phone.sendDtmf(tone),
      dismiss: () => phone.dismiss(),
      addParticipant: (target: string) => {
        const to = toAor(target, aor)
        if (!to) return
        try {
          phone.startConference(to)
        } catch (err) {
          setCallError(errorText(err))
        }
      }
    }),
    [phone, aor]
  )
  const conferenceActions: ConferenceActions = useMemo(
    () => ({
      invite: (target: string) => {
        const to = toAor(target, aor)
        if (to) phone.conferenceInvite(to)
      },
      toggleMute: () => phone.conferenceToggleMute(),
      leave: () => phone.conferenceLeave(),
      setVolume: (member: string, volume: number) => phone.conferenceVolume(member, volume)
    }),
    [phone, aor]
  )
  // The desktop shell: notifications, sleep and OS call links act on the page's calls.
  // Connected once per phone: reconnecting would report a ringing call twice.
  const buddiesNow = useRef(buddies)
  buddiesNow.current = buddies
  useEffect(() => {
    const desktop = desktopBridge()
    if (!desktop) return
    const ringing = (callId: string) => phone.getState().call?.id === callId && phone.getState().call?.state === 'ringing'
    return connectDesktopShell(
      desktop.shell,
      {
        subscribe: (fn) => phone.subscribe(fn),
        answer: (callId) => void (ringing(callId) && phone.answer().catch((err: unknown) => setCallError(errorText(err)))),
        decline: (callId) => void (ringing(callId) && phone.decline()),
        restartIce: () => void phone.restartIce().catch(console.error),
        // Ready to call, never calling by itself: a link on any web page could otherwise dial.
        dial: (target) => {
          setDial(target)
          setView('dial')
        },
        route: (route) => {
          const to = parseRoute(route)
          if (!to) return
          setView(to.view)
          if (to.chat) setChatPeer(buddiesNow.current.find((b) => sameAor(b.aor, to.chat!))?.aor ?? null)
        }
      },
      console.error
    )
  }, [phone])
  useDtmfKeyboard(talking, actions.dtmf)
  useCallAlerts(call, settings.ringtone, devices)
  const quality = useCallQuality(talking ? phone.peerConnection() : null)

  const chatBuddy = buddies.find((b) => b.aor === chatPeer) ?? null
  const unread = buddies.reduce((n, b) => n + b.unread, 0)

  return (
    <div className="app">
      <Sidebar
        identity={identity}
        presence={presence}
        onPresence={(s) => void setPresence(s).catch(console.error)}
        registration={state.registration}
        registrationError={state.registrationError}
        dial={dial}
        onDial={setDial}
        onCall={startCall}
        canCall={!inCall}
        view={view}
        onView={setView}
        unread={unread}
        waiting={mailbox.waiting}
      />
      <main className="content" id="content">
        {state.conference && <ConferencePanel conference={state.conference} self={aor} buddies={buddies} actions={conferenceActions} />}
        {call && <CallPanel call={call} quality={quality} actions={actions} />}
        {voicemailFor && <LeaveVoicemail key={voicemailFor.callId} target={voicemailFor} devices={devices} inCall={inCall} onSent={mailbox.upsert} onClose={closeVoicemail} />}
        {callError && (
          <p role="alert" className="error banner">
            {callError}{' '}
            <button type="button" className="quiet" onClick={() => setCallError(null)} aria-label="Dismiss">
              ✕
            </button>
          </p>
        )}
        {view === 'buddies' && (
          <div className={`buddies-layout${chatBuddy ? ' buddies-layout--chat' : ''}`}>
            <Buddies
              buddies={buddies}
              selected={chatPeer}
              onOpen={setChatPeer}
              onCall={startCall}
              onAdd={async (input) => void (await add(toAor(input, aor)))}
              onRemove={async (a) => {
                await remove(a)
                if (chatPeer === a) setChatPeer(null)
              }}
              onAcceptKey={async (a, key) => void (await acceptKey(a, key))}
            />
            {chatBuddy && <Chat key={chatBuddy.aor} buddy={chatBuddy} onCall={startCall} />}
          </div>
        )}
        {view === 'dial' && <DialPad value={dial} onChange={setDial} onCall={startCall} disabled={inCall} />}
        {view === 'history' && <History onCall={startCall} canCall={!inCall} />}
        {view === 'voicemail' && <Voicemail mailbox={mailbox} devices={devices} />}
        {view === 'node' && <NodeView />}
        {view === 'overlay' && <Overlay ownAor={aor} />}
        {view === 'settings' && <SettingsView identity={identity} settings={settings} update={updateSettings} devices={devices} shell={desktopBridge()?.shell ?? null} />}
      </main>
    </div>
  )
}
