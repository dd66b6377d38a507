import type { SipMessage } from '../message.js'
import type { SipFlow, SipTransport } from '../transport.js'

/**
 * Where a message goes: an open flow (TCP, WS, peer stream) or an address on a
 * listening transport (UDP datagrams; TCP connects or reuses, §18.1.1).
 */
export type Destination =
  | { kind: 'flow'; flow: SipFlow }
  | { kind: 'address'; transport: SipTransport; host: string; port: number }

export function isReliable(dest: Destination): boolean {
  return dest.kind === 'flow' ? true : dest.transport.reliable
}

export async function deliver(dest: Destination, message: SipMessage): Promise<void> {
  if (dest.kind === 'flow') {
    if (!dest.flow.send(message)) throw Object.assign(new Error(`flow ${dest.flow.id} is closed`), { code: 'TRANSPORT_ERROR' })
    return
  }
  await dest.transport.sendTo(message, dest.host, dest.port)
}

export function describe(dest: Destination): string {
  return dest.kind === 'flow' ? `${dest.flow.transport}:${dest.flow.id}` : `${dest.transport.name}:${dest.host}:${dest.port}`
}
