import { join } from 'node:path'
import { defaultDataDir } from '../app/cli/data-dir.js'
import { IDENTITY_FILE } from '../app/identity/identity-store.js'

export interface PeerDirInputs {
  /** `app.getPath('userData')`. */
  userData: string
  /** Electron was started with `--user-data-dir` (a separate profile). */
  userDataSwitch: boolean
  env: NodeJS.ProcessEnv
  platform: NodeJS.Platform
  /** `existsSync`. */
  exists: (path: string) => boolean
}

/**
 * Where the desktop app keeps its peer: where the `parley` CLI looks by default
 * (PARLEY_DATA_DIR, else the platform's data folder), so `parley status` and
 * `parley diag` reach the running app and `parley serve` cannot start a second
 * peer with the same key. A separate profile (`--user-data-dir`) keeps its peer
 * inside the profile, and so does a peer already created in `userData/peer`
 * (Linux builds before both shared one folder), so nobody loses an identity.
 */
export function desktopPeerDir(i: PeerDirInputs): string {
  if (i.env.PARLEY_DATA_DIR) return i.env.PARLEY_DATA_DIR
  const inProfile = join(i.userData, 'peer')
  if (i.userDataSwitch) return inProfile
  const shared = defaultDataDir(i.env, i.platform)
  if (shared !== inProfile && i.exists(join(inProfile, IDENTITY_FILE)) && !i.exists(join(shared, IDENTITY_FILE))) return inProfile
  return shared
}
