import { join } from 'node:path'
import { DEFAULT_SETTINGS, Settings } from '../api/contract.js'
import { readJsonFile, writeJsonFile } from '../store/json-file.js'

/** The user's UI settings in `settings.json`; unknown or missing fields fall back to defaults. */
export class SettingsStore {
  private current: Settings
  private writing: Promise<void> = Promise.resolve()

  private constructor(
    readonly path: string,
    initial: Settings
  ) {
    this.current = initial
  }

  static async open(dataDir: string): Promise<SettingsStore> {
    const path = join(dataDir, 'settings.json')
    const stored = await readJsonFile(path, Settings.partial())
    return new SettingsStore(path, { ...DEFAULT_SETTINGS, ...stored })
  }

  get(): Settings {
    return { ...this.current }
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    this.current = { ...this.current, ...patch }
    const snapshot = this.get()
    const next = this.writing.catch(() => {}).then(() => writeJsonFile(this.path, snapshot))
    this.writing = next
    await next
    return snapshot
  }
}
