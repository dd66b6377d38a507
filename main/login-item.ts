import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'

/** The parts of Electron's `app` used for login items (macOS and Windows). */
export interface LoginItemApp {
  setLoginItemSettings(settings: { openAtLogin?: boolean; args?: string[] }): void
  getLoginItemSettings(options?: { args?: string[] }): { openAtLogin: boolean }
}

export interface LoginItemOptions {
  platform: NodeJS.Platform
  app: LoginItemApp
  /** `process.env` (XDG_CONFIG_HOME). */
  env: NodeJS.ProcessEnv
  /** `os.homedir()`. */
  homeDir: string
  /** What to start: `process.execPath`, or `process.env.APPIMAGE` inside an AppImage (its execPath is a temporary mount). */
  execPath: string
  /** E.g. `['--hidden']`, to start in the tray. Windows and Linux only; macOS has no arguments for login items. */
  args?: string[]
}

export interface LoginItem {
  isEnabled(): Promise<boolean>
  setEnabled(enabled: boolean): Promise<void>
}

const DESKTOP_FILE = 'parley.desktop'

/** XDG Base Directory: `$XDG_CONFIG_HOME/autostart`, ignoring a relative value, else `~/.config/autostart`. */
export function autostartDir(env: NodeJS.ProcessEnv, homeDir: string): string {
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homeDir, '.config')
  return join(config, 'autostart')
}

/**
 * An `Exec=` value (Desktop Entry spec, "The Exec key"): an argument with
 * reserved characters is double-quoted, with `"`, `` ` ``, `$` and `\` escaped
 * inside; a literal `%` is written `%%` since `%x` are field codes.
 */
export function desktopExec(command: string, args: string[]): string {
  const quote = (arg: string) => {
    const escaped = /[\s"'\\><~|&;$*?#()`]/.test(arg) ? `"${arg.replace(/["`$\\]/g, (c) => `\\${c}`)}"` : arg
    return escaped.replace(/%/g, '%%')
  }
  return [command, ...args].map(quote).join(' ')
}

/**
 * Launch at login. Electron's login items cover macOS and Windows only; on
 * Linux desktops (GNOME, KDE, XFCE…) the freedesktop way is an entry in the
 * autostart folder, which is what this writes and removes.
 */
export function setupLoginItem(opts: LoginItemOptions): LoginItem {
  const args = opts.args ?? []
  if (opts.platform !== 'linux' && opts.platform !== 'freebsd' && opts.platform !== 'openbsd') {
    return {
      isEnabled: async () => opts.app.getLoginItemSettings({ args }).openAtLogin,
      setEnabled: async (enabled) => opts.app.setLoginItemSettings({ openAtLogin: enabled, args })
    }
  }

  const dir = autostartDir(opts.env, opts.homeDir)
  const file = join(dir, DESKTOP_FILE)
  return {
    async isEnabled() {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch {
        return false
      }
      // Session settings switch an entry off with Hidden=true (or GNOME's own key) instead of deleting it.
      return !/^Hidden\s*=\s*true\s*$/m.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text)
    },
    async setEnabled(enabled) {
      if (!enabled) return rm(file, { force: true })
      const entry = [
        '[Desktop Entry]',
        'Type=Application',
        'Version=1.0',
        'Name=Parley',
        'Comment=Peer-to-peer SIP softphone',
        `Exec=${desktopExec(opts.execPath, args)}`,
        'Terminal=false',
        'X-GNOME-Autostart-enabled=true',
        ''
      ].join('\n')
      await mkdir(dir, { recursive: true })
      const tmp = `${file}.${process.pid}.tmp`
      await writeFile(tmp, entry, { mode: 0o644 })
      await rename(tmp, file)
    }
  }
}
