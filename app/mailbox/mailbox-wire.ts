import c from 'compact-encoding'

/**
 * The mailbox plugin's wire messages (docs/mailbox.md, "Plugin wire messages").
 * Every request goes to a HyperDHT node as a PLUGIN command with `target` = the
 * mailbox id; every reply is one UDP packet, so pages are cut to REPLY_BUDGET.
 */
export const PLUGIN_NAME = 'parley/mailbox'
export const PLUGIN_VERSION = 1

export const Command = {
  /** Are you a holder? Replies with a token (for the writes below) and how much you hold. */
  PROBE: 0,
  /** Keep an envelope. Needs the token. */
  STORE: 1,
  /** The recipient reads its mailbox, proving it holds the key. Needs the token. */
  FETCH: 2,
  /** The recipient drops envelopes it has read. Needs the token. */
  DELETE: 3,
  /** Holder ↔ holder: which envelope ids (and deletions) do you have? */
  SYNC: 4,
  /** Holder ↔ holder: the envelopes with these ids. */
  GET: 5
} as const
export type Command = (typeof Command)[keyof typeof Command]

/** Every reply starts with one of these; refusals name their reason (never silent loss). */
export const STATUS = [
  'OK',
  'DUPLICATE',
  'MAILBOX_FULL',
  'MAILBOX_BYTES',
  'RATE_LIMITED',
  'TOO_LARGE',
  'BAD_REQUEST',
  'BAD_PROOF',
  'NO_TOKEN',
  'NOT_HOLDER',
  'FORBIDDEN',
  'DELETED'
] as const
export type Status = (typeof STATUS)[number]

/** Bytes of reply value that still fit one packet beside dht-rpc's header, token and closer nodes. */
export const REPLY_BUDGET = 1000
/** Ids per SYNC page and per DELETE/GET request. */
export const IDS_PER_PAGE = 24

export interface Attachment {
  /** The Hypercore holding the large payload (ciphertext only). */
  key: Buffer
  /** Its length in blocks. */
  length: number
}

/** `digest`: BLAKE2b of the sorted live ids, so holders skip comparing mailboxes that agree. */
export interface ProbeReply { status: Status; held: number; digest: Buffer }
export interface StoreRequest { envelope: Buffer; replica: boolean; attachment: Attachment | null }
export interface StatusReply { status: Status }
export interface FetchRequest { publicKey: Buffer; after: Buffer | null; signature: Buffer }
export interface HeldEnvelope { bytes: Buffer; attachment: Attachment | null }
export interface EnvelopesReply { status: Status; envelopes: HeldEnvelope[]; more: boolean }
export interface DeleteRequest { publicKey: Buffer; ids: Buffer[]; signature: Buffer }
export interface DeleteReply { status: Status; removed: number }
export interface SyncRequest { after: Buffer | null }
export interface SyncReply { status: Status; ids: Buffer[]; deleted: Buffer[]; more: boolean }
export interface GetRequest { ids: Buffer[] }

const status: c.Encoder<Status> = {
  preencode(state) {
    c.uint.preencode(state, 0)
  },
  encode(state, s) {
    c.uint.encode(state, STATUS.indexOf(s))
  },
  decode(state) {
    const s = STATUS[c.uint.decode(state)]
    if (!s) throw new Error('unknown status')
    return s
  }
}

const optionalId = {
  preencode(state: c.State, id: Buffer | null) {
    c.bool.preencode(state, id !== null)
    if (id) c.fixed32.preencode(state, id)
  },
  encode(state: c.State, id: Buffer | null) {
    c.bool.encode(state, id !== null)
    if (id) c.fixed32.encode(state, id)
  },
  decode(state: c.State): Buffer | null {
    return c.bool.decode(state) ? buf(c.fixed32.decode(state)) : null
  }
}

const attachment = {
  preencode(state: c.State, a: Attachment | null) {
    c.bool.preencode(state, a !== null)
    if (a) {
      c.fixed32.preencode(state, a.key)
      c.uint.preencode(state, a.length)
    }
  },
  encode(state: c.State, a: Attachment | null) {
    c.bool.encode(state, a !== null)
    if (a) {
      c.fixed32.encode(state, a.key)
      c.uint.encode(state, a.length)
    }
  },
  decode(state: c.State): Attachment | null {
    return c.bool.decode(state) ? { key: buf(c.fixed32.decode(state)), length: c.uint.decode(state) } : null
  }
}

const ids = c.array(c.fixed32)
const heldEnvelope = struct<HeldEnvelope>([
  ['bytes', c.buffer],
  ['attachment', attachment]
])

export const probeReply = struct<ProbeReply>([
  ['status', status],
  ['held', c.uint],
  ['digest', c.fixed32]
])
export const storeRequest = struct<StoreRequest>([
  ['envelope', c.buffer],
  ['replica', c.bool],
  ['attachment', attachment]
])
export const statusReply = struct<StatusReply>([['status', status]])
export const fetchRequest = struct<FetchRequest>([
  ['publicKey', c.fixed32],
  ['after', optionalId],
  ['signature', c.fixed64]
])
export const envelopesReply = struct<EnvelopesReply>([
  ['status', status],
  ['envelopes', c.array(heldEnvelope)],
  ['more', c.bool]
])
export const deleteRequest = struct<DeleteRequest>([
  ['publicKey', c.fixed32],
  ['ids', ids],
  ['signature', c.fixed64]
])
export const deleteReply = struct<DeleteReply>([
  ['status', status],
  ['removed', c.uint]
])
export const syncRequest = struct<SyncRequest>([['after', optionalId]])
export const syncReply = struct<SyncReply>([
  ['status', status],
  ['ids', ids],
  ['deleted', ids],
  ['more', c.bool]
])
export const getRequest = struct<GetRequest>([['ids', ids]])

/** Size of a held envelope on the wire, to fill a reply page without overflowing it. */
export function heldEnvelopeSize(e: HeldEnvelope): number {
  return c.encode(heldEnvelope, e).byteLength
}

export function encode<T>(codec: c.Encoder<T>, value: T): Buffer {
  return buf(c.encode(codec, value))
}

/** Decode, or null for anything malformed, truncated or with trailing junk. */
export function decode<T>(codec: c.Encoder<T>, bytes: Uint8Array | null | undefined): T | null {
  if (!bytes) return null
  try {
    const state = { start: 0, end: bytes.byteLength, buffer: bytes }
    const value = codec.decode(state)
    return state.start === state.end ? value : null
  } catch {
    return null
  }
}

/** A compact-encoding codec for a record, field by field in order. */
function struct<T>(fields: Array<[keyof T & string, c.Encoder<unknown>]>): c.Encoder<T> {
  return {
    preencode(state, value) {
      for (const [name, codec] of fields) codec.preencode(state, value[name])
    },
    encode(state, value) {
      for (const [name, codec] of fields) codec.encode(state, value[name])
    },
    decode(state) {
      const out: Record<string, unknown> = {}
      for (const [name, codec] of fields) {
        const v = codec.decode(state)
        out[name] = v instanceof Uint8Array && !Buffer.isBuffer(v) ? buf(v) : Array.isArray(v) ? v.map((x) => (x instanceof Uint8Array && !Buffer.isBuffer(x) ? buf(x) : x)) : v
      }
      return out as T
    }
  }
}

function buf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
