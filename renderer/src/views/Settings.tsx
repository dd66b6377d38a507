/** @jsxRuntime automatic */
import { useEffect, useState } from 'react'
import { RelayLimits, type Identity, type NodeStatus, type Settings as SettingsValue } from '../../../app/api/contract.js'
import { errorText, useNodeStatus } from '../api.js'
import type { AudioDevices } from '../phone/devices.js'
import type { ShellBridge } from '../../../app/api/desktop-bridge.js'
import { DesktopSettings } from './DesktopSettings.js'
import { LanAdvertiseSetting } from './LanAdvertiseSetting.js'

export interface LimitBounds {
  min: number
  max: number
}

export type ParsedLimit = { ok: true; value: number } | { ok: false; error: string }

/** A typed relay limit: a whole number within the contract's bounds. */
export function parseLimit(text: string, bounds: LimitBounds): ParsedLimit {
  const t = text.trim()
  if (!/^\d+$/.test(t)) return { ok: false, error: 'a whole number' }
  const n = Number(t)
  if (n < bounds.min) return { ok: false, error: `at least ${bounds.min}` }
  if (n > bounds.max) return { ok: false, error: `at most ${bounds.max}` }
  return { ok: true, value: n }
}

const limitBounds = (field: keyof Pick<RelayLimits, 'relayMaxKbps' | 'relayMaxCalls'>): LimitBounds => {
  const schema = RelayLimits.shape[field]
  return { min: schema.minValue ?? 0, max: schema.maxValue ?? Number.MAX_SAFE_INTEGER }
}

export interface SettingsProps {
  identity: Identity
  settings: SettingsValue
  update: (patch: Partial<SettingsValue>) => Promise<void>
  devices: AudioDevices
  shell?: ShellBridge | null
  /** The peer's LAN discovery (what `--lan` allows); undefined while not known. */
  lan?: NodeStatus['overlay']['lan']
}

/** The settings view as the app shows it: the peer's LAN mode polled (start-up flags; nothing here changes fast). */
export function SettingsView(props: Omit<SettingsProps, 'lan'>) {
  const { status } = useNodeStatus(10_000)
  return <Settings {...props} lan={status?.overlay.lan} />
}

/** Theme, audio devices, ringtone, auto-answer, notifications, relaying for others; the user's own identity. */
export function Settings(props: SettingsProps) {
  const { settings, devices } = props
  const [list, setList] = useState<MediaDeviceInfo[]>([])
  const [error, setError] = useState<string | null>(null)
  const [permission, setPermission] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission)

  useEffect(() => {
    const refresh = () => void devices.list().then(setList, () => setList([]))
    refresh()
    return devices.onChange(refresh)
  }, [devices])

  const set = (patch: Partial<SettingsValue>) => void props.update(patch).catch((err: unknown) => setError(errorText(err)))
  const inputs = list.filter((d) => d.kind === 'audioinput' && d.deviceId !== 'default' && d.deviceId !== 'communications')
  const outputs = list.filter((d) => d.kind === 'audiooutput' && d.deviceId !== 'default' && d.deviceId !== 'communications')
  const unnamed = list.some((d) => !d.label)

  const revealNames = async () => {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: true })
      for (const t of s.getTracks()) t.stop()
      setList(await devices.list())
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <section className="settings" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="stack">
        <label>
          Theme
          <select data-testid="settings-theme" value={settings.theme} onChange={(e) => set({ theme: e.target.value as SettingsValue['theme'] })}>
            <option value="system">Follow the system</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
        <DeviceSelect label="Microphone" testId="settings-audio-input" devices={inputs} value={settings.audioInput} onChange={(audioInput) => set({ audioInput })} />
        <DeviceSelect label="Speaker" testId="settings-audio-output" devices={outputs} value={settings.audioOutput} onChange={(audioOutput) => set({ audioOutput })} />
        {unnamed && (
          <button type="button" onClick={() => void revealNames()}>
            Show device names (asks for the microphone)
          </button>
        )}
        <label className="check">
          <input type="checkbox" data-testid="settings-ringtone" checked={settings.ringtone} onChange={(e) => set({ ringtone: e.target.checked })} />
          Ring on incoming calls
        </label>
        <label className="check">
          <input type="checkbox" data-testid="settings-auto-answer" checked={settings.autoAnswer} onChange={(e) => set({ autoAnswer: e.target.checked })} />
          Answer incoming calls at once
        </label>
        <LanAdvertiseSetting checked={settings.lanAdvertise} lan={props.lan} onChange={(on) => set({ lanAdvertise: on })} />
        <fieldset className="stack">
          <legend>Relaying for others</legend>
          <label className="check">
            <input type="checkbox" data-testid="setting-never-relay" checked={settings.neverRelay} onChange={(e) => set({ neverRelay: e.target.checked })} />
            Never relay calls for others (never become a super-node)
          </label>
          <LimitInput label="Most bandwidth for relaying" unit="kbit/s" testId="setting-relay-max-kbps" bounds={limitBounds('relayMaxKbps')} value={settings.relayMaxKbps} disabled={settings.neverRelay} onCommit={(relayMaxKbps) => set({ relayMaxKbps })} />
          <LimitInput label="Most calls relayed at once" unit="calls" testId="setting-relay-max-calls" bounds={limitBounds('relayMaxCalls')} value={settings.relayMaxCalls} disabled={settings.neverRelay} onCommit={(relayMaxCalls) => set({ relayMaxCalls })} />
        </fieldset>
        <p>
          Desktop notifications: {permission === 'granted' ? 'on' : permission === 'denied' ? 'blocked in the browser' : permission === 'unsupported' ? 'not available' : 'off'}{' '}
          {permission === 'default' && (
            <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
              Allow
            </button>
          )}
        </p>
        <DesktopSettings shell={props.shell ?? null} />
      </div>
      <h3>You</h3>
      <dl className="facts">
        <dt>Address</dt>
        <dd>{props.identity.aor}</dd>
        <dt>Name</dt>
        <dd>{props.identity.displayName ?? '—'}</dd>
        <dt>Key fingerprint</dt>
        <dd className="fingerprint" data-testid="own-fingerprint">
          {props.identity.fingerprint}
        </dd>
      </dl>
    </section>
  )
}

/** A number kept as typed until Enter or leaving the field; only a valid one is saved. */
function LimitInput(props: { label: string; unit: string; testId: string; bounds: LimitBounds; value: number; disabled: boolean; onCommit: (value: number) => void }) {
  const [draft, setDraft] = useState<string | null>(null)
  const parsed = draft === null ? null : parseLimit(draft, props.bounds)
  const commit = () => {
    if (!parsed?.ok) return
    if (parsed.value !== props.value) props.onCommit(parsed.value)
    setDraft(null)
  }
  return (
    <label>
      {props.label}
      <span className="inline-form">
        <input
          type="number"
          inputMode="numeric"
          data-testid={props.testId}
          min={props.bounds.min}
          max={props.bounds.max}
          step={1}
          value={draft ?? String(props.value)}
          disabled={props.disabled}
          aria-invalid={parsed?.ok === false}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => e.key === 'Enter' && commit()}
        />
        {props.unit}
      </span>
      {parsed?.ok === false && (
        <span role="alert" className="error">
          {parsed.error}
        </span>
      )}
    </label>
  )
}

/** A device picker; null follows the system default. A chosen device that is unplugged stays listed. */
function DeviceSelect(props: { label: string; testId: string; devices: MediaDeviceInfo[]; value: string | null; onChange: (id: string | null) => void }) {
  const missing = props.value !== null && !props.devices.some((d) => d.deviceId === props.value)
  return (
    <label>
      {props.label}
      <select data-testid={props.testId} value={props.value ?? ''} onChange={(e) => props.onChange(e.target.value || null)}>
        <option value="">System default</option>
        {props.devices.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || `${props.label} ${i + 1}`}
          </option>
        ))}
        {missing && <option value={props.value ?? ''}>Unplugged device (using the default)</option>}
      </select>
    </label>
  )
}
