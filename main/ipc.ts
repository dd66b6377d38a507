import { ipcMain, type WebFrameMain } from 'electron'
import { ParleyError } from '../app/errors.js'
import type { PeerHostStatus } from './peer-host.js'

/** Also spelled out in main/preload.cts, which may not import local files (sandbox). */
export const STATUS_CHANNEL = 'parley:status'

export interface IpcOptions {
  status: () => PeerHostStatus
  isTrustedSender: (frame: WebFrameMain | null) => boolean
}

/**
 * The renderer's read-only view of the peer. Minimal until `app/api` declares the
 * full contract, from which these handlers will be derived.
 */
export function setupIpc(opts: IpcOptions): void {
  ipcMain.handle(STATUS_CHANNEL, (event) => {
    if (!opts.isTrustedSender(event.senderFrame)) {
      throw new ParleyError('FORBIDDEN', `${STATUS_CHANNEL} is answered only to the main window's top frame`)
    }
    return opts.status()
  })
}
