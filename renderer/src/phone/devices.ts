import { inputConstraint, outputSinkId, shouldSwitchInput } from './device-choice.js'

export interface AudioChoice {
  /** Device ids; null follows the system default. */
  audioInput: string | null
  audioOutput: string | null
}

/** `HTMLMediaElement.setSinkId` and `AudioContext.setSinkId` (Chromium). */
interface SinkSelectable {
  setSinkId?(id: string): Promise<void>
}

/**
 * The user's audio devices: opens the microphone they chose (or the default),
 * routes output to the speaker they chose, and says when a device change
 * (`devicechange`: unplugged, plugged, default moved) means the live
 * microphone must be swapped.
 */
export class AudioDevices {
  private choice: AudioChoice = { audioInput: null, audioOutput: null }
  private readonly listeners = new Set<() => void>()

  constructor(private readonly media: MediaDevices | undefined = globalThis.navigator?.mediaDevices) {
    media?.addEventListener('devicechange', () => this.changed())
  }

  setChoice(choice: AudioChoice): void {
    const moved = choice.audioInput !== this.choice.audioInput || choice.audioOutput !== this.choice.audioOutput
    this.choice = { audioInput: choice.audioInput, audioOutput: choice.audioOutput }
    if (moved) this.changed()
  }

  /** Called on `devicechange` and when the choice changes. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  async list(): Promise<MediaDeviceInfo[]> {
    return (await this.media?.enumerateDevices()) ?? []
  }

  async openInput(): Promise<MediaStream> {
    if (!this.media) throw new Error('this page has no access to audio devices')
    const audio = inputConstraint(this.choice.audioInput, await this.list())
    try {
      return await this.media.getUserMedia({ audio, video: false })
    } catch (err) {
      // The device went away between listing and opening: use the default.
      if (audio === true) throw err
      return this.media.getUserMedia({ audio: true, video: false })
    }
  }

  async inputNeedsSwitch(track: MediaStreamTrack): Promise<boolean> {
    const s = track.getSettings()
    return shouldSwitchInput({ deviceId: s.deviceId, groupId: s.groupId, ended: track.readyState === 'ended' }, this.choice.audioInput, await this.list())
  }

  /** Route an element's (or AudioContext's) output to the chosen speaker, else the default. */
  async routeOutput(target: SinkSelectable): Promise<void> {
    if (!target.setSinkId) return
    const id = outputSinkId(this.choice.audioOutput, await this.list())
    await target.setSinkId(id).catch((err: unknown) => console.warn('setSinkId failed', err))
  }

  private changed(): void {
    for (const fn of this.listeners) {
      try {
        fn()
      } catch (err) {
        console.error(err)
      }
    }
  }
}
