import c from 'compact-encoding'
import Corestore, { type CorestoreOfCores, type Hypercore } from 'corestore'
import Hyperbee from 'hyperbee'
import HyperDHT, { type DhtQuery, type DhtServer, type KeyPair, type NoiseSecretStream } from 'hyperdht'
import sodium from 'sodium-universal'
import type { Logger } from 'pino'

/**
 * Voicemail and other large offline payloads (docs/mailbox.md): the bytes live in a
 * Hypercore written by the sender; the sealed letter carries a BlobPointer.
 *
 *   sender ── create ──► Hypercore (blocks = secretbox(chunk), announced at its discovery key)
 *   holder ── hold ────► downloads every block, announces too; never sees the secret
 *   recipient ─ fetch ─► downloads from whoever announces, opens each block
 *
 * Blocks are XSalsa20-Poly1305 (crypto_secretbox) under a fresh 32-byte secret per
 * blob, with the block index as the nonce: a secret is used for one blob only, so the
 * nonces never repeat, and a block moved to another index fails to open. The Hypercore
 * signature already stops a holder from altering, reordering or truncating blocks; the
 * box is what keeps the holder from reading them.
 */
export const BLOCK_BYTES = 32 * 1024
export const MAX_BLOB_BYTES = 4 * 1024 * 1024
export const MAX_BLOB_BLOCKS = Math.ceil(MAX_BLOB_BYTES / BLOCK_BYTES)
const MAX_MIME_CHARS = 127
const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_TTL_MS = 30 * 24 * 3600_000
/** Announcement records live 20 minutes on HyperDHT nodes. */
const DEFAULT_REANNOUNCE_MS = 10 * 60_000
/** close() does not wait longer than this for unannounces on a slow network. */
const UNANNOUNCE_WAIT_MS = 3_000
const MAX_LOOKUP_BACKOFF_MS = 8_000
/** Peers one download connects to at once; a lookup can name many. */
const MAX_PEERS_PER_DOWNLOAD = 8

/** sodium-universal has these; types/hyper.d.ts types its object as a closed literal. */
const box = sodium as unknown as {
  crypto_secretbox_easy(out: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): void
  crypto_secretbox_open_easy(out: Uint8Array, cipher: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean
  crypto_secretbox_MACBYTES: number
  crypto_secretbox_NONCEBYTES: number
  crypto_secretbox_KEYBYTES: number
}
const MAC_BYTES = box.crypto_secretbox_MACBYTES

export interface BlobPointer {
  /** The Hypercore's public key (32 bytes). */
  key: Buffer
  /** The symmetric key of its blocks (32 bytes); only ever inside a sealed letter. */
  secret: Buffer
  /** Blocks. */
  length: number
  /** Plaintext bytes. */
  byteLength: number
  mime: string
}

export type BlobErrorCode = 'BAD_KEY' | 'BAD_LENGTH' | 'TOO_LARGE' | 'MALFORMED' | 'TAMPERED' | 'NOT_FOUND' | 'TIMEOUT' | 'STORE_FULL' | 'CLOSED'

export class BlobError extends Error {
  constructor(
    readonly code: BlobErrorCode,
    message: string
  ) {
    super(message)
  }
}

export interface HeldBlob {
  key: Buffer
  length: number
  /** Ciphertext bytes on disk. */
  bytes: number
  /** sent: we wrote it; held: we keep it for a recipient. */
  role: 'sent' | 'held'
  expiresAt: number
}

export interface BlobStoreOptions {
  dir: string
  /** The peer's DHT, already bootstrapped; the store never destroys it. */
  dht: HyperDHT
  log: Logger
  /** Blobs are released this long after they were created or held (default 30 days, the mailbox's). */
  ttlMs?: number
  /** Ciphertext bytes this node agrees to hold for others (default 256 MiB). */
  maxHeldBytes?: number
  reannounceMs?: number
}

export const blobPointerEncoding: c.Encoder<BlobPointer> = {
  preencode(state, p) {
    c.fixed32.preencode(state, p.key)
    c.fixed32.preencode(state, p.secret)
    c.uint.preencode(state, p.length)
    c.uint.preencode(state, p.byteLength)
    c.string.preencode(state, p.mime)
  },
  encode(state, p) {
    c.fixed32.encode(state, p.key)
    c.fixed32.encode(state, p.secret)
    c.uint.encode(state, p.length)
    c.uint.encode(state, p.byteLength)
    c.string.encode(state, p.mime)
  },
  decode(state) {
    let p: BlobPointer
    try {
      p = { key: asBuffer(c.fixed32.decode(state)), secret: asBuffer(c.fixed32.decode(state)), length: c.uint.decode(state), byteLength: c.uint.decode(state), mime: c.string.decode(state) }
    } catch (err) {
      throw new BlobError('MALFORMED', `blob pointer does not decode: ${(err as Error).message}`)
    }
    checkPointer(p)
    return p
  }
}

/** Throws a BlobError unless the pointer could describe a blob this format writes. */
function checkPointer(p: BlobPointer): void {
  checkKey(p.key)
  if (!Buffer.isBuffer(p.secret) || p.secret.length !== box.crypto_secretbox_KEYBYTES) throw new BlobError('BAD_KEY', 'a blob secret is 32 bytes')
  if (!Number.isSafeInteger(p.byteLength) || p.byteLength < 1) throw new BlobError('BAD_LENGTH', 'a blob has at least one byte')
  if (p.byteLength > MAX_BLOB_BYTES) throw new BlobError('TOO_LARGE', `a blob has at most ${MAX_BLOB_BYTES} bytes`)
  if (p.length !== Math.ceil(p.byteLength / BLOCK_BYTES)) throw new BlobError('MALFORMED', `${p.byteLength} bytes are ${Math.ceil(p.byteLength / BLOCK_BYTES)} blocks, not ${p.length}`)
  checkMime(p.mime)
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== 32) throw new BlobError('BAD_KEY', 'a Hypercore key is 32 bytes')
}

function checkMime(mime: string): void {
  if (typeof mime !== 'string' || mime.length > MAX_MIME_CHARS || !/^[\x20-\x7e]*$/.test(mime)) throw new BlobError('MALFORMED', 'a MIME type is at most 127 printable ASCII characters')
}

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1) throw new BlobError('BAD_LENGTH', 'a blob has at least one block')
  if (length > MAX_BLOB_BLOCKS) throw new BlobError('TOO_LARGE', `a blob has at most ${MAX_BLOB_BLOCKS} blocks`)
}

function nonce(index: number): Buffer {
  const n = Buffer.alloc(box.crypto_secretbox_NONCEBYTES)
  n.writeUInt32LE(index)
  return n
}

function sealBlock(secret: Buffer, index: number, plain: Buffer): Buffer {
  const out = Buffer.alloc(plain.length + MAC_BYTES)
  box.crypto_secretbox_easy(out, plain, nonce(index), secret)
  return out
}

function openBlock(secret: Buffer, index: number, cipher: Buffer): Buffer {
  if (cipher.length <= MAC_BYTES) throw new BlobError('TAMPERED', `block ${index} is too short`)
  const out = Buffer.alloc(cipher.length - MAC_BYTES)
  if (!box.crypto_secretbox_open_easy(out, cipher, nonce(index), secret)) throw new BlobError('TAMPERED', `block ${index} does not authenticate (tampered, or the wrong secret)`)
  return out
}

interface Entry extends HeldBlob {
  discoveryKey: Buffer
  announced: boolean
}

/** A connection and the operations (hold/fetch) using it; ours are closed when none is left. */
interface Connection {
  stream: NoiseSecretStream
  outgoing: boolean
  users: Set<symbol>
}

/**
 * Blobs this peer sent or holds, in a Corestore on disk with a small Hyperbee index,
 * served to anyone who knows a core's key.
 *
 * Announces and connections use a key pair drawn at random on every open(), never the
 * user's identity: holders and recipients see an unlinkable key and an address, not who
 * sent the voicemail. The DHT's discovery key (a hash of the core key) is all DHT nodes
 * see, and replication needs the core key itself, so only holders of a pointer or an
 * envelope can download the ciphertext.
 */
export class BlobStore {
  private readonly entries = new Map<string, Entry>()
  private readonly conns = new Map<string, Connection>()
  /** Every replication stream, including a second one with a peer already in `conns`. */
  private readonly streams = new Set<NoiseSecretStream>()
  private readonly holding = new Map<string, Promise<void>>()
  private readonly keyPair: KeyPair = HyperDHT.keyPair()
  private server: DhtServer | null = null
  private listening: Promise<void> | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private closing: Promise<void> | null = null
  private readonly closed: Promise<never>
  private rejectClosed!: (err: Error) => void
  private readonly ttlMs: number
  private readonly maxHeldBytes: number

  private constructor(
    private readonly store: CorestoreOfCores,
    private readonly index: Hyperbee<string, IndexRow>,
    private readonly dht: HyperDHT,
    private readonly log: Logger,
    opts: BlobStoreOptions
  ) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS
    this.maxHeldBytes = opts.maxHeldBytes ?? 256 * 1024 * 1024
    this.closed = new Promise<never>((_resolve, reject) => {
      this.rejectClosed = reject
    })
    this.closed.catch(() => {})
    this.timer = setInterval(() => void this.refresh(), opts.reannounceMs ?? DEFAULT_REANNOUNCE_MS)
    this.timer.unref()
  }

  static async open(opts: BlobStoreOptions): Promise<BlobStore> {
    const store = new Corestore(opts.dir) as unknown as CorestoreOfCores
    const index = new Hyperbee<string, IndexRow>(store.get({ name: 'blob-index' }), { keyEncoding: 'utf-8', valueEncoding: indexRowEncoding })
    await index.ready()
    const blobs = new BlobStore(store, index, opts.dht, opts.log, opts)
    for await (const { key, value } of index.createReadStream()) {
      const k = Buffer.from(key, 'hex')
      blobs.entries.set(key, { key: k, discoveryKey: discoveryKeyOf(k), length: value.length, bytes: value.bytes, role: value.role, expiresAt: value.expiresAt, announced: false })
    }
    // Serving again must not hold up the peer's start; lookups retry meanwhile.
    void blobs.refresh()
    return blobs
  }

  /** Write `bytes` into a new Hypercore of ours, each block sealed under a fresh secret, and serve it. */
  async create(bytes: Buffer, mime: string): Promise<BlobPointer> {
    this.assertOpen()
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) throw new BlobError('BAD_LENGTH', 'a blob has at least one byte')
    if (bytes.length > MAX_BLOB_BYTES) throw new BlobError('TOO_LARGE', `a blob has at most ${MAX_BLOB_BYTES} bytes`)
    checkMime(mime)
    const secret = randomBytes(box.crypto_secretbox_KEYBYTES)
    const blocks: Buffer[] = []
    for (let i = 0; i * BLOCK_BYTES < bytes.length; i++) blocks.push(sealBlock(secret, i, bytes.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES)))
    // A name from nowhere: the core's key pair derives from this store's primary key and it.
    const core = this.store.get({ name: `blob/${randomBytes(16).toString('hex')}` })
    try {
      await core.ready()
      await core.append(blocks)
      await this.keep({ key: core.key, length: core.length, bytes: core.byteLength, role: 'sent', expiresAt: Date.now() + this.ttlMs })
      return { key: core.key, secret, length: blocks.length, byteLength: bytes.length, mime }
    } finally {
      await core.close()
    }
  }

  /** Keep every (ciphertext) block of someone's core on disk and serve it; resolves once all are local. */
  hold(key: Buffer, length: number, opts: { timeoutMs?: number; expiresAt?: number } = {}): Promise<void> {
    try {
      this.assertOpen()
      checkKey(key)
      checkLength(length)
    } catch (err) {
      return Promise.reject(err)
    }
    const id = key.toString('hex')
    const entry = this.entries.get(id)
    if (entry && entry.length >= length) return Promise.resolve()
    const pending = this.holding.get(id)
    if (pending) return pending
    const held = [...this.entries.values()].filter((e) => e.role === 'held').reduce((n, e) => n + e.bytes, 0)
    if (held + length * (BLOCK_BYTES + MAC_BYTES) > this.maxHeldBytes) return Promise.reject(new BlobError('STORE_FULL', `holding ${held} bytes already`))
    const p = this.holdNow(key, length, opts).finally(() => this.holding.delete(id))
    this.holding.set(id, p)
    return p
  }

  private async holdNow(key: Buffer, length: number, opts: { timeoutMs?: number; expiresAt?: number }): Promise<void> {
    const core = this.store.get({ key })
    try {
      await core.ready()
      await this.download(core, length, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_BLOB_BYTES + length * MAC_BYTES, 'TOO_LARGE')
      let bytes = 0
      for (let i = 0; i < length; i++) bytes += (await core.get(i, { wait: false }))?.length ?? 0
      await this.keep({ key, length, bytes, role: 'held', expiresAt: opts.expiresAt ?? Date.now() + this.ttlMs })
      this.log.debug({ core: key.toString('hex').slice(0, 16), length, bytes }, 'holding blob')
    } catch (err) {
      await this.drop(core).catch(() => {})
      throw err
    } finally {
      await core.close().catch(() => {})
    }
  }

  /** Download a blob from whoever serves it and open it; TAMPERED if any block fails authentication. */
  async fetch(pointer: BlobPointer, opts: { timeoutMs?: number } = {}): Promise<Buffer> {
    this.assertOpen()
    checkPointer(pointer)
    const id = pointer.key.toString('hex')
    const core = this.store.get({ key: pointer.key })
    try {
      await core.ready()
      await this.download(core, pointer.length, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, pointer.byteLength + pointer.length * MAC_BYTES, 'TAMPERED')
      const parts: Buffer[] = []
      for (let i = 0; i < pointer.length; i++) {
        const block = await core.get(i, { wait: false })
        if (!block) throw new BlobError('TIMEOUT', `block ${i} went missing`)
        parts.push(openBlock(pointer.secret, i, block))
      }
      const bytes = Buffer.concat(parts)
      if (bytes.length !== pointer.byteLength) throw new BlobError('TAMPERED', `the blob has ${bytes.length} bytes, the pointer says ${pointer.byteLength}`)
      return bytes
    } finally {
      // A recipient keeps the plaintext elsewhere; ciphertext it does not serve is dropped.
      if (!this.entries.has(id) && !this.holding.has(id) && !this.closing) await this.drop(core).catch(() => {})
      await core.close().catch(() => {})
    }
  }

  /** Stop serving a core and drop its blocks from disk. */
  async release(key: Buffer): Promise<void> {
    this.assertOpen()
    checkKey(key)
    const id = key.toString('hex')
    const entry = this.entries.get(id)
    this.entries.delete(id)
    if (entry) await this.index.del(id)
    if (entry?.announced) await this.dht.unannounce(entry.discoveryKey, this.keyPair).catch((err: Error) => this.log.debug({ err: err.message }, 'unannounce failed'))
    const core = this.store.get({ key })
    try {
      await core.ready()
      await this.drop(core)
    } finally {
      await core.close().catch(() => {})
    }
  }

  /** Release what has expired; returns how many. */
  async expire(now = Date.now()): Promise<number> {
    const stale = [...this.entries.values()].filter((e) => e.expiresAt <= now)
    for (const e of stale) await this.release(e.key)
    return stale.length
  }

  held(): HeldBlob[] {
    return [...this.entries.values()].map(({ key, length, bytes, role, expiresAt }) => ({ key, length, bytes, role, expiresAt }))
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.closeNow()
    return this.closing
  }

  private async closeNow(): Promise<void> {
    this.rejectClosed(new BlobError('CLOSED', 'the blob store is closed'))
    if (this.timer) clearInterval(this.timer)
    const unannounces = [...this.entries.values()].filter((e) => e.announced).map((e) => this.dht.unannounce(e.discoveryKey, this.keyPair).catch(() => {}))
    await Promise.race([Promise.all(unannounces), sleep(UNANNOUNCE_WAIT_MS)])
    for (const stream of this.streams) stream.destroy()
    this.conns.clear()
    if (this.listening) await this.listening.catch(() => {})
    await this.server?.close().catch(() => {})
    await Promise.allSettled(this.holding.values())
    await this.index.close()
    await this.store.close()
  }

  private assertOpen(): void {
    if (this.closing) throw new BlobError('CLOSED', 'the blob store is closed')
  }

  /** Record a blob in the index and announce it. */
  private async keep(e: HeldBlob): Promise<void> {
    const id = e.key.toString('hex')
    const entry: Entry = { ...e, discoveryKey: discoveryKeyOf(e.key), announced: false }
    await this.index.put(id, { length: e.length, bytes: e.bytes, role: e.role, expiresAt: e.expiresAt })
    this.entries.set(id, entry)
    await this.announce(entry)
  }

  private async announce(entry: Entry): Promise<void> {
    await this.listen()
    if (this.closing || !this.server) return
    try {
      await this.dht.announce(entry.discoveryKey, this.keyPair, this.server.relayAddresses).finished()
      entry.announced = true
    } catch (err) {
      // The blob is kept; the next refresh announces it again.
      if (!this.closing) this.log.warn({ err: (err as Error).message }, 'blob announce failed')
    }
  }

  /** Expire, then re-announce everything (records on DHT nodes expire). */
  private async refresh(): Promise<void> {
    try {
      await this.expire()
      for (const entry of this.entries.values()) {
        if (this.closing) return
        await this.announce(entry)
      }
    } catch (err) {
      if (!this.closing) this.log.warn({ err: (err as Error).message }, 'blob re-announce failed')
    }
  }

  /** The server is started on the first blob served: a peer that only fetches never listens. */
  private listen(): Promise<void> {
    if (!this.listening) {
      const server = this.dht.createServer({}, (stream) => this.attach(stream, stream.remotePublicKey, false, null))
      this.server = server
      this.listening = server.listen(this.keyPair)
    }
    return this.listening
  }

  private attach(stream: NoiseSecretStream, remote: Buffer, outgoing: boolean, user: symbol | null): void {
    stream.on('error', (err: Error) => this.log.debug({ err: err.message }, 'blob stream error'))
    if (this.closing) {
      stream.destroy()
      return
    }
    const id = remote.toString('hex')
    const conn: Connection = { stream, outgoing, users: new Set(user ? [user] : []) }
    if (!this.conns.has(id)) this.conns.set(id, conn)
    this.streams.add(stream)
    stream.once('close', () => {
      this.streams.delete(stream)
      if (this.conns.get(id) === conn) this.conns.delete(id)
    })
    this.store.replicate(stream)
  }

  private connect(publicKey: Buffer, user: symbol): void {
    if (publicKey.equals(this.keyPair.publicKey) || this.closing) return
    const existing = this.conns.get(publicKey.toString('hex'))
    if (existing) {
      existing.users.add(user)
      return
    }
    let mine = 0
    for (const conn of this.conns.values()) if (conn.outgoing && conn.users.has(user)) mine++
    if (mine >= MAX_PEERS_PER_DOWNLOAD) return
    this.attach(this.dht.connect(publicKey, { keyPair: this.keyPair }), publicKey, true, user)
  }

  /** Keep looking up who serves a core and connect to each, backing off, until `stop`. */
  private async findPeers(discoveryKey: Buffer, user: symbol, stop: Promise<void>): Promise<void> {
    let stopped = false
    let query: DhtQuery | null = null
    void stop.then(() => {
      stopped = true
      query?.destroy()
    })
    let backoff = 500
    while (!stopped && !this.closing) {
      try {
        query = this.dht.lookup(discoveryKey)
        for await (const reply of query) {
          if (stopped) break
          for (const peer of reply.peers ?? []) this.connect(peer.publicKey, user)
        }
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'blob lookup failed')
      }
      await Promise.race([sleep(backoff), stop])
      backoff = Math.min(backoff * 2, MAX_LOOKUP_BACKOFF_MS)
    }
  }

  /** Download blocks [0, length) of `core` from any peer, within `timeoutMs` and `maxBytes` of ciphertext. */
  private async download(core: Hypercore, length: number, timeoutMs: number, maxBytes: number, oversize: BlobErrorCode): Promise<void> {
    if (await core.has(0, length)) return
    const user = Symbol('download')
    let got = 0
    let bytes = 0
    let fail!: (err: BlobError) => void
    const failed = new Promise<never>((_resolve, reject) => (fail = reject))
    const seen = new Set<number>()
    const ondownload = (index: number, byteLength: number) => {
      // Several peers may serve the same block: count each block once.
      if (seen.has(index)) return
      seen.add(index)
      got++
      bytes += byteLength
      if (byteLength > BLOCK_BYTES + MAC_BYTES || bytes > maxBytes) fail(new BlobError(oversize, `the core serves more than the ${maxBytes} bytes expected`))
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const code = got === 0 ? 'NOT_FOUND' : 'TIMEOUT'
        reject(new BlobError(code, code === 'NOT_FOUND' ? `no peer served the core within ${timeoutMs} ms` : `${got} of ${length} blocks within ${timeoutMs} ms`))
      }, timeoutMs)
    })
    let stop!: () => void
    const stopped = new Promise<void>((resolve) => (stop = resolve))
    core.on('download', ondownload)
    const range = core.download({ start: 0, end: length })
    const finding = this.findPeers(core.discoveryKey, user, stopped)
    try {
      await Promise.race([range.done(), failed, timedOut, this.closed])
    } finally {
      clearTimeout(timer)
      stop()
      range.destroy()
      core.off('download', ondownload)
      await finding
      this.leave(user)
    }
  }

  /** An operation is done with its connections; ours that nobody else uses are closed. */
  private leave(user: symbol): void {
    for (const conn of this.conns.values()) {
      if (!conn.users.delete(user)) continue
      if (conn.outgoing && conn.users.size === 0) conn.stream.destroy()
    }
  }

  /**
   * Free a core's disk: clear its blocks, then delete the core itself so Corestore no
   * longer finds it for peers that ask. Hypercore 11.37's purge() calls a method its
   * core lacks, so the storage's deleteCore is reached directly (audit.js does the same).
   */
  private async drop(core: Hypercore): Promise<void> {
    if (core.length > 0) await core.clear(0, core.length)
    const storage = (core as unknown as { state?: { storage?: { store?: { deleteCore?(ptr: unknown): Promise<void> }; core?: unknown } } }).state?.storage
    if (storage?.store?.deleteCore) await storage.store.deleteCore(storage.core)
  }
}

interface IndexRow {
  length: number
  bytes: number
  role: 'sent' | 'held'
  expiresAt: number
}

const indexRowEncoding = {
  encode(row: IndexRow): Buffer {
    return Buffer.from(JSON.stringify({ l: row.length, b: row.bytes, r: row.role, e: row.expiresAt }))
  },
  decode(buf: Buffer): IndexRow {
    const o = JSON.parse(buf.toString()) as { l: number; b: number; r: 'sent' | 'held'; e: number }
    return { length: o.l, bytes: o.b, role: o.r, expiresAt: o.e }
  }
}

/** Hypercore's discovery key: BLAKE2b-256 keyed by the core key over "hypercore". */
function discoveryKeyOf(key: Buffer): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, Buffer.from('hypercore'), key)
  return out
}

function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n)
  sodium.randombytes_buf(out)
  return out
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
