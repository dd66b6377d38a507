import * as JsSIP from 'jssip'
import type { Socket } from 'jssip/lib/Socket'
import { ApiClient } from '../../app/api/client.js'
import type { ParleyBridge } from '../../app/api/desktop-bridge.js'
import { BridgeSipSocket } from './transport/bridge-sip-socket.js'
import { bridgeTransport } from './transport/bridge-transport.js'
import { openWebSocketTransport } from './transport/websocket-transport.js'

declare global {
  interface Window {
    /** Put there by the desktop app's preload (main/preload.ts); absent in web mode. */
    readonly parley?: ParleyBridge
  }
}

/**
 * Where the app meets its peer. The desktop app: the preload's `window.parley`
 * (MessagePorts to main, no network port). Web mode: the page is served by
 * `parley serve --web`, the contract runs over `ws://host/api` and SIP over
 * `ws://host/sip` (RFC 7118).
 */
export function desktopBridge(): ParleyBridge | null {
  return window.parley ?? null
}

export async function connectApi(): Promise<ApiClient> {
  const desktop = desktopBridge()
  if (desktop) return new ApiClient(bridgeTransport(desktop.api))
  return new ApiClient(await openWebSocketTransport(`${wsOrigin()}/api`))
}

/** A JsSIP socket to the user's own peer (its proxy/registrar). */
export function sipSocket(): Socket {
  const desktop = desktopBridge()
  if (desktop) return new BridgeSipSocket(desktop.sip)
  return new JsSIP.WebSocketInterface(`${wsOrigin()}/sip`)
}

function wsOrigin(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
}
