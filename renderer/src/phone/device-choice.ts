/**
 * Which audio device to use, from the user's choice (a device id, or null to
 * follow the system default) and what is plugged in now. Structural types only,
 * so it runs under node:test; `devices.ts` feeds it `enumerateDevices()`.
 */
export interface DeviceEntry {
  kind: string
  deviceId: string
  groupId: string
}

export interface LiveInput {
  deviceId?: string
  groupId?: string
  ended: boolean
}

const present = (id: string, kind: string, devices: readonly DeviceEntry[]) => devices.some((d) => d.kind === kind && d.deviceId === id)

/** getUserMedia's `audio` constraint: the chosen device if present, else the default. */
export function inputConstraint(chosen: string | null, devices: readonly DeviceEntry[]): MediaTrackConstraintsLike | true {
  return chosen !== null && present(chosen, 'audioinput', devices) ? { deviceId: { exact: chosen } } : true
}

export interface MediaTrackConstraintsLike {
  deviceId: { exact: string }
}

/** `setSinkId` argument: the chosen output if present, else '' (the default). */
export function outputSinkId(chosen: string | null, devices: readonly DeviceEntry[]): string {
  return chosen !== null && present(chosen, 'audiooutput', devices) ? chosen : ''
}

/**
 * Whether the microphone feeding a call must be reopened (and swapped into the
 * sender with `replaceTrack`): the track ended, it is not the device the user
 * chose, or, following the default, the default now points at another device.
 */
export function shouldSwitchInput(track: LiveInput, chosen: string | null, devices: readonly DeviceEntry[]): boolean {
  if (track.ended) return true
  if (chosen !== null && present(chosen, 'audioinput', devices)) return track.deviceId !== chosen
  const onDevice = devices.find((d) => d.kind === 'audioinput' && d.deviceId === track.deviceId && d.deviceId !== 'default')
  const fallback = devices.find((d) => d.kind === 'audioinput' && d.deviceId === 'default') ?? devices.find((d) => d.kind === 'audioinput')
  if (!fallback) return false
  // Group ids first: a track opened on the default reports deviceId 'default' but stays on
  // the physical device it opened when the default moves.
  if (track.groupId && fallback.groupId) return track.groupId !== fallback.groupId
  if (track.deviceId === fallback.deviceId) return false
  return !onDevice
}
