/**
 * Command-line switches the desktop shell understands. Chromium-style
 * `--name=value` only: Electron and Chromium add their own switches to argv, and
 * a bare `--name value` pair cannot be told apart from them reliably.
 *
 *   --aor=sip:alice@example.org       bind this AOR to the identity (persisted)
 *   --bootstrap=HOST:PORT[,HOST:PORT] DHT bootstrap nodes (tests and private overlays)
 *   --hidden                          start in the tray, no window (launch at login)
 */
export interface ShellArgs {
  aor?: string
  bootstrap?: string[]
  hidden?: boolean
}

export function parseShellArgs(argv: readonly string[]): ShellArgs {
  const args: ShellArgs = {}
  for (const arg of argv) {
    if (arg === '--hidden') args.hidden = true
    const aor = switchValue(arg, 'aor')
    if (aor !== undefined) args.aor = aor
    const bootstrap = switchValue(arg, 'bootstrap')
    if (bootstrap !== undefined) {
      args.bootstrap = bootstrap
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b.length > 0)
    }
  }
  return args
}

function switchValue(arg: string, name: string): string | undefined {
  const prefix = `--${name}=`
  return arg.startsWith(prefix) ? arg.slice(prefix.length) : undefined
}
