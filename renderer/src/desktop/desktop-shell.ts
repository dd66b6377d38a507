import type { ShellBridge, ShellCommand, ShellReport } from '../../../app/api/desktop-bridge.js'
import type { PhoneState } from '../phone/phone.js'

export type { ShellBridge, ShellCommand, ShellReport }

/** The page's side: the phone to watch and act on, and how to show a view or dial. */
export interface ShellPage {
  subscribe(fn: (s: PhoneState) => void): () => void
  answer(callId: string): void
  decline(callId: string): void
  restartIce(): void
  dial(target: string): void
  route(route: string): void
}

/**
 * Keep the desktop shell told about calls (for notifications and keeping the
 * machine awake) and carry out its commands. Calls live in the page's user
 * agent, so only the page knows when one rings.
 */
export function connectDesktopShell(shell: ShellBridge, page: ShellPage, onError: (err: unknown) => void = () => {}): () => void {
  const send = (report: ShellReport) => void shell.report(report).catch(onError)
  let reportedRinging: string | null = null
  let active = ''
  const offPhone = page.subscribe(({ call }) => {
    if (call && call.direction === 'incoming' && call.state === 'ringing' && reportedRinging !== call.id) {
      reportedRinging = call.id
      send({ type: 'ringing', callId: call.id, peer: call.peer, ...(call.peerName ? { peerName: call.peerName } : {}) })
    }
    const now = call && call.state !== 'ended' ? call.id : ''
    if (now !== active) {
      active = now
      send({ type: 'calls', active: now ? [now] : [] })
    }
  })
  const offCommands = shell.onCommand((command) => {
    switch (command.type) {
      case 'dial':
        return page.dial(command.target)
      case 'route':
        return page.route(command.route)
      case 'answer':
        return page.answer(command.callId)
      case 'decline':
        return page.decline(command.callId)
      case 'restart-ice':
        return page.restartIce()
    }
  })
  send({ type: 'ready' })
  return () => {
    offPhone()
    offCommands()
  }
}
