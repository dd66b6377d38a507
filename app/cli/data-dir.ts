import { homedir } from 'node:os'
import { join } from 'node:path'

/** The platform's per-user data folder for Parley, overridable with PARLEY_DATA_DIR. */
export function defaultDataDir(env = process.env, platform = process.platform): string {
  if (env.PARLEY_DATA_DIR) return env.PARLEY_DATA_DIR
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Parley', 'peer')
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Parley', 'peer')
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'parley', 'peer')
}
