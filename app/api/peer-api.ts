import type { Logger } from 'pino'
import type { PeerOptions } from '../peer.js'
import { PeerSession } from '../peer-session.js'
import type { SipStack } from '../sip-stack.js'
import { ApiService } from './api-service.js'
import { SettingsStore } from '../settings/settings-store.js'

/**
 * The user's peer with the UI contract served on it: what `parley serve --web`
 * and the desktop app both run. The session may still be in first-run setup
 * (no AOR yet); the contract is served anyway so the UI can choose one.
 */
export interface PeerApi {
  session: PeerSession
  api: ApiService
  /** The running peer's SIP stack, where the UI's own flows attach; null before setup. */
  sip(): SipStack | null
  /** Leaves the overlay, then closes the stores. Safe to call twice. */
  close(): Promise<void>
}

export async function openPeerApi(opts: PeerOptions & { log: Logger }): Promise<PeerApi> {
  // The privacy setting must hold from the first packet, not once the UI's settings are applied.
  const lanAdvertise = (await SettingsStore.open(opts.dataDir)).get().lanAdvertise
  const session = await PeerSession.open(opts.lan ? { ...opts, lan: { ...opts.lan, quiet: !lanAdvertise } } : opts)
  let api: ApiService
  try {
    api = await ApiService.open(session, opts.dataDir, opts.log)
  } catch (err) {
    await session.close()
    throw err
  }
  let closing: Promise<void> | null = null
  return {
    session,
    api,
    sip: () => session.peer?.sip ?? null,
    close() {
      closing ??= (async () => {
        await session.close()
        await api.close()
      })()
      return closing
    }
  }
}
