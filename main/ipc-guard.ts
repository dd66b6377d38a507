import type { z } from 'zod'
import { ParleyError } from '../app/errors.js'
import { originOf } from './permissions.js'

/**
 * IPC checks in main (Electron security checklist, "Validate the sender of all IPC
 * messages"): any frame of any renderer can send on any channel, including an
 * iframe or a page reached by a navigation that slipped through. Only the main
 * window's top frame, showing the app's own origin, is answered; payloads are parsed
 * against a schema because the renderer is the less trusted side.
 */

/** The parts of Electron's `WebFrameMain` the checks read (structural, so tests need no Electron). */
export interface FrameLike {
  readonly url: string
  readonly frameTreeNodeId: number
  readonly parent: FrameLike | null
}

export interface ExpectedSender {
  /** The main window's current top frame (`win.webContents.mainFrame`), or null with no window. */
  topFrame: () => FrameLike | null | undefined
  /** e.g. `app://parley`. */
  appOrigin: string
}

export function isTrustedSender(frame: FrameLike | null | undefined, expected: ExpectedSender): boolean {
  if (!frame || frame.parent !== null) return false
  const top = expected.topFrame()
  // frameTreeNodeId is browser-global and never reused, unlike the frame object identity.
  if (!top || frame.frameTreeNodeId !== top.frameTreeNodeId) return false
  const origin = originOf(frame.url)
  return origin !== null && origin === originOf(expected.appOrigin)
}

/** What a handler built by `validated` returns for a payload that fails its schema. */
export interface IpcBadRequest {
  ok: false
  error: { code: 'BAD_REQUEST'; channel: string; message: string; issues: { path: string; message: string }[] }
}

/** The part of `IpcMainInvokeEvent` the wrapper reads. */
export interface InvokeEventLike {
  readonly senderFrame: FrameLike | null
}

/**
 * Wrap an `ipcMain.handle` handler: an untrusted sender gets a FORBIDDEN error
 * thrown (it is an attack, not a caller to help); a payload that fails `schema` gets
 * an `IpcBadRequest` back (a bug in our own renderer, which should learn why). The
 * renderer sends one payload (or none); more arguments are a bad request too.
 */
export function validated<S extends z.ZodType, R, E extends InvokeEventLike = InvokeEventLike>(
  channel: string,
  schema: S,
  handler: (payload: z.output<S>, event: E) => R,
  isTrusted: (frame: E['senderFrame']) => boolean
): (event: E, ...args: unknown[]) => R | IpcBadRequest {
  return (event, ...args) => {
    if (!isTrusted(event.senderFrame)) {
      throw new ParleyError('FORBIDDEN', `${channel} is answered only to the main window's top frame`)
    }
    if (args.length > 1) return badRequest(channel, `expects one payload, got ${args.length} arguments`, [])
    const parsed = schema.safeParse(args[0])
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }))
      return badRequest(channel, issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), issues)
    }
    return handler(parsed.data, event)
  }
}

function badRequest(channel: string, why: string, issues: IpcBadRequest['error']['issues']): IpcBadRequest {
  return { ok: false, error: { code: 'BAD_REQUEST', channel, message: `bad ${channel} request: ${why}`, issues } }
}
