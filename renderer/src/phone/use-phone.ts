import { useEffect, useState, useSyncExternalStore } from 'react'
import type { Settings } from '../../../app/api/contract.js'
import { useApi } from '../api.js'
import { sipSocket } from '../platform.js'
import { AudioDevices } from './devices.js'
import { Phone, type PhoneState } from './phone.js'

const devices = new AudioDevices()

/** The user's phone for as long as the main view is up; calls are recorded in the peer's history. */
export function usePhone(aor: string, displayName: string | null, settings: Settings): { phone: Phone; state: PhoneState; devices: AudioDevices } {
  const api = useApi()
  const [phone] = useState(
    () =>
      new Phone({
        aor,
        displayName,
        sipSocket: sipSocket(),
        devices,
        relays: {
          forCall: (callId) => api.call('relay.forCall', { callId }),
          failover: (callId, failed) => api.call('relay.failover', failed === null ? { callId } : { callId, failed })
        },
        // af() and role from the peer's status: who mixes a conference.
        capacity: async () => {
          const { relay } = await api.call('status')
          const { af, veto, thresholds } = relay.annoyance
          return { score: af, supernode: relay.role === 'super-node', capable: veto === null && af < thresholds.demote }
        },
        onCallEnded: (record) => void api.call('calls.record', record).catch((err: unknown) => console.error('calls.record failed', err))
      })
  )
  useEffect(() => {
    phone.start()
    return () => phone.stop()
  }, [phone])
  useEffect(() => phone.setAutoAnswer(settings.autoAnswer), [phone, settings.autoAnswer])
  useEffect(() => devices.setChoice(settings), [settings])
  const state = useSyncExternalStore(
    (fn) => phone.subscribe(fn),
    () => phone.getState()
  )
  return { phone, state, devices }
}
