import type { Logger } from 'pino'
import { z } from 'zod'
import type { ShellCommand as PageShellCommand, ShellReport as PageShellReport } from '../app/api/desktop-bridge.js'
import { SHELL_CHANNELS } from './bridge-channels.js'
import { validated, type FrameLike } from './ipc-guard.js'

/**
 * What the shell and the page tell each other outside the app/api contract:
 * things only the desktop has (notifications, sleep, OS call links) about the
 * calls, which live in the renderer's user agent. The page's side is
 * `window.parley.shell` (main/preload.ts); the messages' types are in
 * app/api/desktop-bridge.ts, checked here with a schema.
 */
export { SHELL_CHANNELS }

const CallId = z.string().min(1).max(256)

export const ShellReport = z.discriminatedUnion('type', [
  /** The page is listening for commands (sent once per page load). */
  z.object({ type: z.literal('ready') }).strict(),
  /** An incoming call is ringing in the page's user agent. */
  z.object({ type: z.literal('ringing'), callId: CallId, peer: z.string().min(1).max(1024), peerName: z.string().max(256).optional() }).strict(),
  /** The calls in progress (ringing included), whenever the set changes. */
  z.object({ type: z.literal('calls'), active: z.array(CallId).max(32) }).strict(),
  /** A question about the desktop's own settings, or (with `openAtLogin`) a change. */
  z.object({ type: z.literal('desktop-settings'), openAtLogin: z.boolean().optional() }).strict()
])
export type ShellReport = z.infer<typeof ShellReport>

export type ShellCommand = PageShellCommand

// The schema checks exactly the reports the page's type allows.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
const reportTypesAgree: Same<ShellReport, PageShellReport> = true
void reportTypesAgree

/** Electron's `ipcMain`, structurally (`handle` only). */
export interface ShellIpcLike {
  handle(channel: string, listener: (event: { senderFrame: FrameLike | null }, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

export interface ShellChannelOptions {
  ipc: ShellIpcLike
  isTrustedSender: (frame: FrameLike | null) => boolean
  /** The main window's page, if it exists: `webContents.send` (main → renderer). */
  page: () => { send(channel: string, command: ShellCommand): void } | null
  onReport: (report: ShellReport) => void
  log: Logger
}

export interface ShellChannel {
  /** Sent now if the page is listening, else when it says `ready` (a call link at start-up). */
  send(command: ShellCommand): void
  /** The page is (re)loading: hold commands until it says `ready` again. */
  pageLoading(): void
  close(): void
}

/** Commands queued for a page that is still loading; older ones past this are dropped. */
const MAX_QUEUED = 16

export function setupShellChannel(opts: ShellChannelOptions): ShellChannel {
  let listening = false
  let queue: ShellCommand[] = []
  const deliver = (command: ShellCommand): boolean => {
    const page = listening ? opts.page() : null
    if (!page) return false
    page.send(SHELL_CHANNELS.command, command)
    return true
  }
  opts.ipc.handle(
    SHELL_CHANNELS.report,
    validated(
      SHELL_CHANNELS.report,
      ShellReport,
      (report) => {
        if (report.type === 'ready') {
          listening = true
          const pending = queue
          queue = []
          for (const command of pending) deliver(command)
        }
        try {
          opts.onReport(report)
        } catch (err) {
          opts.log.error({ err, report: report.type }, 'shell report handler failed')
        }
        return { ok: true }
      },
      opts.isTrustedSender
    )
  )
  return {
    send(command) {
      if (deliver(command)) return
      // A reload or a closed window: the next page says `ready` again.
      listening = false
      queue = [...queue, command].slice(-MAX_QUEUED)
    },
    pageLoading() {
      listening = false
    },
    close() {
      opts.ipc.removeHandler(SHELL_CHANNELS.report)
      queue = []
    }
  }
}
