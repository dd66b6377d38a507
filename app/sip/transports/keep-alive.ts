/**
 * Empty, or nothing but CRLFs: the RFC 5626 §4.4.1 keep-alive ping. Stream
 * framing skips these itself; on message transports (UDP, WS), where some user
 * agents send them too, they are ignored rather than reported as malformed.
 */
export function isCrlfKeepAlive(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 13 && data[i] !== 10) return false
  return true
}
