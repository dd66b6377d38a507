import Protomux from 'protomux'
import c from 'compact-encoding'
import type { NoiseSecretStream } from 'hyperdht'

/** One Protomux channel of whole frames on a peer stream. */
export interface FrameChannel {
  /** true once both sides opened it; false if it or the stream closed first. */
  readonly opened: Promise<boolean>
  send(frame: Buffer): void
}

/**
 * Open `protocol` on `stream` for frames (each a Protomux message, so no
 * framing of our own). `onclose` runs once, when the channel or the stream
 * closes. Throws if the stream already has that protocol open.
 */
export function openFrameChannel(stream: NoiseSecretStream, protocol: string, on: { frame(frame: Buffer): void; close(reason: string): void }): FrameChannel {
  let resolveOpened!: (open: boolean) => void
  const opened = new Promise<boolean>((resolve) => (resolveOpened = resolve))
  let ended = false
  const end = (reason: string) => {
    resolveOpened(false)
    if (ended) return
    ended = true
    on.close(reason)
  }
  const channel = Protomux.from(stream).createChannel({ protocol, onopen: () => resolveOpened(true), onclose: () => end(`${protocol} channel closed`) })
  if (!channel) throw new Error(`${protocol} channel already open on this stream`)
  const frames = channel.addMessage<Buffer>({ encoding: c.buffer, onmessage: (frame) => on.frame(frame) })
  channel.open()
  stream.once('close', () => end('stream closed'))
  return {
    opened,
    send: (frame) => {
      if (!channel.closed) frames.send(frame)
    }
  }
}
