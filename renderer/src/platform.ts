import { ApiClient } from '../../app/api/client.js'
import { openWebSocketTransport } from './transport/websocket-transport.js'

/**
 * Where the app meets its peer. Web mode (this file today): the page is served
 * by `parley serve --web`, the contract runs over `ws://host/api` and SIP over
 * `ws://host/sip` (RFC 7118). The desktop shell will swap in IPC here.
 */
export async function connectApi(): Promise<ApiClient> {
  return new ApiClient(await openWebSocketTransport(`${wsOrigin()}/api`))
}

/** The SIP-over-WebSocket endpoint of the user's own peer (its proxy/registrar). */
export function sipSocketUrl(): string {
  return `${wsOrigin()}/sip`
}

function wsOrigin(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
}
