import { useEffect, useState } from 'react'
import type { AudioDevices } from './devices.js'
import type { CallView } from './phone.js'
import { ToneGenerator } from './ringtone.js'

/**
 * What tells the user a call wants them: the ringtone and a desktop
 * notification (if permitted) for an incoming call, and a ringback tone while
 * the far end rings without sending early media.
 */
export function useCallAlerts(call: CallView | null, ringtone: boolean, devices: AudioDevices): void {
  const [tones] = useState(() => new ToneGenerator())
  const incoming = call?.direction === 'incoming' && call.state === 'ringing'
  const ringback = call?.direction === 'outgoing' && call.state === 'ringing' && !call.earlyMedia

  useEffect(() => {
    if (incoming && ringtone) {
      void devices.routeOutput(tones.context() as unknown as { setSinkId?(id: string): Promise<void> })
      tones.start('ring')
    } else if (ringback) tones.start('ringback')
    else tones.stop()
  }, [incoming, ringback, ringtone, tones, devices])
  useEffect(() => () => tones.stop(), [tones])

  const callId = incoming ? call.id : null
  const from = incoming ? (call.peerName ?? call.peer) : null
  useEffect(() => {
    if (!callId || typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    const n = new Notification('Incoming call', { body: from ?? '', tag: callId, requireInteraction: true })
    n.onclick = () => window.focus()
    return () => n.close()
  }, [callId, from])
}
