/**
 * Notices a far end that is gone without saying so (its app crashed, its
 * machine lost power): audio packets stop arriving, or ICE fails. A live
 * mixer always sends (WebRTC audio has no DTX by default, silence included),
 * so two and a half seconds without a packet is not a pause in speech.
 */
export const LOST_AFTER_MS = 2500
const POLL_MS = 250

export function watchMedia(pc: RTCPeerConnection, onLost: (why: string) => void, lostAfterMs = LOST_AFTER_MS): () => void {
  let last = -1
  let lastChange = Date.now()
  let stopped = false
  const stop = () => {
    stopped = true
    clearInterval(timer)
  }
  const lost = (why: string) => {
    if (stopped) return
    stop()
    onLost(why)
  }
  const timer = setInterval(() => {
    if (pc.iceConnectionState === 'failed' || pc.iceConnectionState === 'closed') return lost(`ICE ${pc.iceConnectionState}`)
    void pc.getStats().then((stats) => {
      let packets = 0
      stats.forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0
      })
      const now = Date.now()
      if (packets !== last) {
        last = packets
        lastChange = now
      } else if (now - lastChange > lostAfterMs) lost(`no audio for ${now - lastChange} ms`)
    }, () => lost('peer connection closed'))
  }, POLL_MS)
  return stop
}
