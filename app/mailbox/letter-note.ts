import c from 'compact-encoding'

/**
 * What a letter's body says, inside the seal: who wrote it as the UI shows it, the
 * SIP identity of the message it stands for (so a MESSAGE that did get through
 * before it was mailed is not shown twice), the text, and for voicemail and large
 * texts the pointer to the Hypercore holding the payload (blob-store.ts).
 */
export interface Note {
  aor: string
  displayName: string
  callId: string
  cseq: number
  text: string
  /** Encoded BlobPointer, when the payload lives in a Hypercore. */
  blob: Buffer | null
  mime: string
  durationMs: number
}

const MAX_FIELD = 256

const noteEncoding: c.Encoder<Note> = {
  preencode(state, n) {
    c.string.preencode(state, n.aor)
    c.string.preencode(state, n.displayName)
    c.string.preencode(state, n.callId)
    c.uint.preencode(state, n.cseq)
    c.string.preencode(state, n.text)
    c.bool.preencode(state, n.blob !== null)
    if (n.blob) c.buffer.preencode(state, n.blob)
    c.string.preencode(state, n.mime)
    c.uint.preencode(state, n.durationMs)
  },
  encode(state, n) {
    c.string.encode(state, n.aor)
    c.string.encode(state, n.displayName)
    c.string.encode(state, n.callId)
    c.uint.encode(state, n.cseq)
    c.string.encode(state, n.text)
    c.bool.encode(state, n.blob !== null)
    if (n.blob) c.buffer.encode(state, n.blob)
    c.string.encode(state, n.mime)
    c.uint.encode(state, n.durationMs)
  },
  decode(state) {
    const aor = c.string.decode(state)
    const displayName = c.string.decode(state)
    const callId = c.string.decode(state)
    const cseq = c.uint.decode(state)
    const text = c.string.decode(state)
    const blob = c.bool.decode(state) ? Buffer.from(c.buffer.decode(state) ?? new Uint8Array()) : null
    return { aor, displayName, callId, cseq, text, blob, mime: c.string.decode(state), durationMs: c.uint.decode(state) }
  }
}

export function encodeNote(note: Note): Buffer {
  return Buffer.from(c.encode(noteEncoding, note))
}

/** Decode a body; null when it is malformed or its short fields are implausibly long. */
export function decodeNote(body: Buffer): Note | null {
  try {
    const state = { start: 0, end: body.byteLength, buffer: body }
    const note = noteEncoding.decode(state)
    if (state.start !== state.end) return null
    if ([note.aor, note.displayName, note.callId, note.mime].some((f) => f.length > MAX_FIELD)) return null
    return note
  } catch {
    return null
  }
}
