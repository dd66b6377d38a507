/**
 * Notices a far end that may be gone without saying so (its app crashed, its
 * machine lost power): audio packets stop arriving, or ICE fails. A live
 * mixer always sends (WebRTC audio has no DTX by default, silence included),
 * so two and a half seconds without a packet is not a pause in speech — but an
 * overloaded machine can stall that long too, so the caller confirms over SIP
 * (probeDialog) before acting.
 */
export const LOST_AFTER_MS = 2500
const POLL_MS = 250

export interface MediaWatch {
  stop(): void
  /** How long no audio packet has arrived (ms). */
  silentFor(): number
}

export function watchMedia(pc: RTCPeerConnection, onSuspect: (why: string) => void, lostAfterMs = LOST_AFTER_MS): MediaWatch {
  let last = -1
  let lastChange = Date.now()
  let stopped = false
  const stop = () => {
    stopped = true
    clearInterval(timer)
  }
  const suspect = (why: string) => {
    if (stopped) return
    stop()
    onSuspect(why)
  }
  const timer = setInterval(() => {
    if (pc.iceConnectionState === 'failed' || pc.iceConnectionState === 'closed') return suspect(`ICE ${pc.iceConnectionState}`)
    void pc.getStats().then((stats) => {
      let packets = 0
      stats.forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0
      })
      const now = Date.now()
      if (packets !== last) {
        last = packets
        lastChange = now
      } else if (now - lastChange > lostAfterMs) suspect(`no audio for ${now - lastChange} ms`)
    }, () => suspect('peer connection closed'))
  }, POLL_MS)
  return { stop, silentFor: () => Date.now() - lastChange }
}

/** How long a dialog probe waits for the far end. */
export const PROBE_TIMEOUT_MS = 3000

/** What proxies (our peers) answer for a far end they cannot reach; anything else came from the far end. */
const UNREACHABLE = new Set([408, 480, 503, 504])

interface DialogLike {
  sendRequest(method: string, options: { eventHandlers: Record<string, (response?: { status_code?: number }) => void> }): unknown
}

/**
 * Is the far end of this dialog still there? An in-dialog OPTIONS: any answer
 * from its user agent (JsSIP answers 501 in a dialog: still an answer) means
 * yes; a proxy's 408/480/503/504, a transport error or silence means no.
 */
export function probeDialog(session: DialogLike, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false
    const settle = (alive: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(alive)
    }
    const timer = setTimeout(() => settle(false), timeoutMs)
    try {
      session.sendRequest('OPTIONS', {
        eventHandlers: {
          onSuccessResponse: () => settle(true),
          onErrorResponse: (r) => settle(!UNREACHABLE.has(r?.status_code ?? 408)),
          onRequestTimeout: () => settle(false),
          onTransportError: () => settle(false),
          onDialogError: () => settle(false)
        }
      })
    } catch {
      settle(false)
    }
  })
}
