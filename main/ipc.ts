import { ipcMain, type WebFrameMain } from 'electron'
import { z } from 'zod'
import type { PeerHostStatus } from './peer-host.js'
import { validated } from './ipc-guard.js'

/** Also spelled out in main/preload.cts, which may not import local files (sandbox). */
export const STATUS_CHANNEL = 'parley:status'

export interface IpcOptions {
  status: () => PeerHostStatus
  isTrustedSender: (frame: WebFrameMain | null) => boolean
}

/**
 * The renderer's read-only view of the peer. Minimal until `app/api` declares the
 * full contract, from which these handlers will be derived. Every handler goes
 * through `validated` (sender frame and payload checked in main).
 */
export function setupIpc(opts: IpcOptions): void {
  // `status()` takes no payload.
  ipcMain.handle(STATUS_CHANNEL, validated(STATUS_CHANNEL, z.undefined(), () => opts.status(), opts.isTrustedSender))
}
