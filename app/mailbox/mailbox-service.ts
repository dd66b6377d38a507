import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type HyperDHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import type { Logger } from 'pino'
import c from 'compact-encoding'
import type { MailboxStatus, Voicemail } from '../api/contract.js'
import { canonicalAor, type Aor } from '../identity/aor.js'
import type { ContactBook } from '../identity/contact-book.js'
import type { MessageStore, StoredMessage } from '../im/message-store.js'
import { ParleyError } from '../errors.js'
import { BlobStore, blobPointerEncoding, type BlobPointer } from './blob-store.js'
import { EnvelopeError, openEnvelope, sealLetter, type Envelope, type Letter, type LetterKind } from './envelope.js'
import { decodeNote, encodeNote, type Note } from './letter-note.js'
import { LetterLedger } from './letter-ledger.js'
import { MailboxClient, type FetchedEnvelope, type StoreOutcome } from './mailbox-client.js'
import { DEFAULT_REPAIR_MS, DEFAULT_REPLICAS, MailboxHolder, type RepairReport } from './mailbox-holder.js'
import type { MailboxLimits } from './mailbox-store.js'
import { VoicemailStore } from './voicemail-store.js'

export interface MailboxOptions {
  /** Replication factor r (default 5). */
  replicas?: number
  /** How often our own mailbox is fetched (besides at start-up). */
  checkMs?: number
  /** How often a holder repairs the mailboxes it holds. */
  repairMs?: number
  probeTimeoutMs?: number
  /** Holder limits per mailbox and per sender. */
  limits?: Partial<MailboxLimits>
  /** How long a recipient waits for a voicemail's blocks. */
  blobTimeoutMs?: number
}

interface Deps {
  dataDir: string
  keyPair: KeyPair
  aor: Aor
  displayName: string | null
  dht: () => HyperDHT
  contacts: ContactBook
  messages: MessageStore
  /** Keys announcing an AOR on the overlay now. */
  lookup: (aor: Aor) => Promise<Buffer[]>
  log: Logger
}

export const DEFAULT_CHECK_MS = 60_000

/** The sealed envelope, or null when the letter is too large for one. */
function sealInline(sender: KeyPair, recipient: Buffer, letter: Omit<Letter, 'sender'>): Envelope | null {
  try {
    return sealLetter(sender, recipient, letter)
  } catch (err) {
    if (err instanceof EnvelopeError && err.code === 'TOO_LARGE') return null
    throw err
  }
}

/**
 * Offline messages and voicemail for one peer (docs/mailbox.md): mails letters
 * for buddies who cannot be reached, fetches our own mailbox at start-up and
 * periodically, opens, verifies and de-duplicates what came, shows it where it
 * belongs (conversations, voicemail), then deletes it from its holders. As a
 * super-node it also holds others' mailboxes (MailboxHolder).
 */
export class MailboxService extends EventEmitter<{ message: [StoredMessage]; voicemail: [Voicemail]; status: [MailboxStatus] }> {
  private holder: MailboxHolder | null = null
  private timer: NodeJS.Timeout | null = null
  private checking: Promise<{ received: number; voicemails: number }> | null = null
  private lastFetchAt: Date | null = null
  private lastFetchError: string | null = null
  private closed = false
  readonly client: MailboxClient
  /** Letters dropped because they did not verify (forged, tampered, not for us), for status and tests. */
  rejected = 0

  private constructor(
    private readonly deps: Deps,
    private readonly opts: MailboxOptions,
    readonly ledger: LetterLedger,
    readonly voicemails: VoicemailStore,
    readonly blobs: BlobStore
  ) {
    super()
    this.client = new MailboxClient(deps.dht, { replicas: opts.replicas, probeTimeoutMs: opts.probeTimeoutMs })
    voicemails.on('change', (vm) => {
      this.emit('voicemail', vm)
      void this.status().then((s) => this.emit('status', s))
    })
  }

  static async open(deps: Deps, opts: MailboxOptions = {}): Promise<MailboxService> {
    const ledger = await LetterLedger.open(deps.dataDir, deps.log)
    const voicemails = await VoicemailStore.open(deps.dataDir, deps.log)
    const blobs = await BlobStore.open({ dir: join(deps.dataDir, 'blobs'), dht: deps.dht(), log: deps.log })
    return new MailboxService(deps, opts, ledger, voicemails, blobs)
  }

  /** Fetch now, then every checkMs. */
  start(): void {
    const every = this.opts.checkMs ?? DEFAULT_CHECK_MS
    const tick = () => {
      if (this.closed) return
      void this.check()
        .catch(() => {})
        .finally(() => {
          if (this.closed) return
          this.timer = setTimeout(tick, every)
          this.timer.unref()
        })
    }
    tick()
  }

  // ── Sending ────────────────────────────────────────────────────────────────

  /**
   * Mail a text the recipient could not take live. Texts too large for one
   * envelope go in a Hypercore blob, the letter carrying its pointer.
   */
  async mailText(recipient: Buffer, sip: { callId: string; cseq: number }, text: string): Promise<StoreOutcome> {
    const note: Note = { aor: this.deps.aor, displayName: this.deps.displayName ?? '', callId: sip.callId, cseq: sip.cseq, text, blob: null, mime: 'text/plain', durationMs: 0 }
    return this.mail(recipient, 'text', note, () => Buffer.from(text, 'utf8'))
  }

  /** Leave a voice message for a buddy (recorded in the renderer); the recording goes in a blob. */
  async sendVoicemail(toInput: string, audio: Buffer, mime: string, durationMs: number): Promise<Voicemail> {
    const to = canonicalAor(toInput)
    const recipient = await this.recipientKey(to)
    const note: Note = { aor: this.deps.aor, displayName: this.deps.displayName ?? '', callId: randomUUID(), cseq: 1, text: '', blob: null, mime, durationMs }
    const record = await this.voicemails.add(
      { direction: 'out', peer: to, peerName: null, at: new Date().toISOString(), durationMs, mime, heard: true, state: 'sending', identity: null },
      audio
    )
    let outcome: StoreOutcome
    try {
      outcome = await this.mail(recipient, 'voicemail', note, () => audio)
    } catch (err) {
      await this.voicemails.update(record.id, { state: 'failed' })
      throw err
    }
    return this.voicemails.update(record.id, { state: outcome.stored ? 'stored' : 'failed' })
  }

  private async recipientKey(to: Aor): Promise<Buffer> {
    const pinned = this.deps.contacts.get(to)?.publicKey
    if (pinned) return Buffer.from(pinned, 'hex')
    const keys = await this.deps.lookup(to)
    if (keys.length === 0) throw ParleyError.NOT_FOUND(`${to} is not a buddy with a known key, and is not online`)
    return (await this.deps.contacts.resolve(to, keys)).publicKey
  }

  private async mail(recipient: Buffer, kind: LetterKind, note: Note, payload: () => Buffer): Promise<StoreOutcome> {
    const seq = await this.ledger.nextSeq(recipient)
    const letter = (n: Note) => ({ seq, sentAt: Date.now(), kind, body: encodeNote(n) })
    // Inline when it fits one envelope (short texts); otherwise (voicemail, long texts) in a blob.
    let envelope = kind === 'text' ? sealInline(this.deps.keyPair, recipient, letter(note)) : null
    let attachment = null
    if (!envelope) {
      const pointer = await this.blobs.create(payload(), note.mime)
      envelope = sealLetter(this.deps.keyPair, recipient, letter({ ...note, text: '', blob: Buffer.from(c.encode(blobPointerEncoding, pointer)) }))
      attachment = { key: pointer.key, length: pointer.length }
    }
    const outcome = await this.client.store(envelope, attachment)
    this.deps.log.info({ to: recipient.toString('hex').slice(0, 16), seq, kind, acks: outcome.acks, code: outcome.code }, outcome.stored ? 'letter mailed' : 'letter not stored')
    if (!outcome.stored) throw ParleyError.NOT_STORED(`the recipient's mailbox holders did not take it (${outcome.code})`, { code: outcome.code, acks: outcome.acks, asked: outcome.asked })
    return outcome
  }

  // ── Receiving ──────────────────────────────────────────────────────────────

  /** Fetch our mailbox from its holders, deliver what is new, delete what was handled. */
  check(): Promise<{ received: number; voicemails: number }> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = null
    })
    return this.checking
  }

  private async checkOnce(): Promise<{ received: number; voicemails: number }> {
    let received = 0
    let voicemails = 0
    try {
      const fetched = await this.client.fetch(this.deps.keyPair)
      const handled: Buffer[] = []
      for (const item of fetched.envelopes) {
        const result = await this.deliver(item)
        if (result === 'retry') continue
        if (result === 'message') received++
        if (result === 'voicemail') voicemails++
        handled.push(item.id)
      }
      if (handled.length) await this.client.delete(this.deps.keyPair, handled, fetched.holders)
      this.lastFetchAt = new Date()
      this.lastFetchError = fetched.holders.length === 0 ? 'no mailbox holders answered' : null
    } catch (err) {
      this.lastFetchError = (err as Error).message
      this.deps.log.warn({ err: this.lastFetchError }, 'mailbox fetch failed')
    }
    if (received || voicemails) this.emit('status', await this.status())
    return { received, voicemails }
  }

  /** One fetched envelope: shown (message, voicemail), dropped (forged, replayed), or kept for a retry. */
  private async deliver(item: FetchedEnvelope): Promise<'message' | 'voicemail' | 'dropped' | 'retry'> {
    const { log } = this.deps
    let letter: Letter
    try {
      letter = openEnvelope(this.deps.keyPair, item.envelope)
    } catch (err) {
      this.rejected++
      log.warn({ code: (err as EnvelopeError).code, err: (err as Error).message }, 'mailed envelope rejected')
      return 'dropped'
    }
    if (this.ledger.hasSeen(letter.sender, letter.seq)) {
      log.info({ from: letter.sender.toString('hex').slice(0, 16), seq: letter.seq }, 'replayed letter ignored')
      return 'dropped'
    }
    const note = decodeNote(letter.body)
    let aor: Aor | null
    try {
      aor = note ? canonicalAor(note.aor) : null
    } catch {
      aor = null
    }
    if (!note || !aor) {
      this.rejected++
      log.warn({ from: letter.sender.toString('hex').slice(0, 16) }, 'mailed letter body is malformed')
      await this.ledger.markSeen(letter.sender, letter.seq)
      return 'dropped'
    }
    const senderKey = letter.sender.toString('hex')
    const pinned = this.deps.contacts.get(aor)?.publicKey
    const identity = pinned === undefined ? 'unverified' : pinned === senderKey ? 'pinned' : 'changed'
    let payload: Buffer | null = null
    if (note.blob) {
      try {
        const pointer: BlobPointer = c.decode(blobPointerEncoding, note.blob)
        payload = await this.blobs.fetch(pointer, { timeoutMs: this.opts.blobTimeoutMs ?? 20_000 })
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'a mailed payload could not be fetched yet')
        return 'retry'
      }
    }
    await this.ledger.markSeen(letter.sender, letter.seq)
    const at = new Date(Math.min(letter.sentAt, Date.now())).toISOString()
    if (letter.kind === 'voicemail') {
      if (!payload) return 'dropped'
      await this.voicemails.add({ direction: 'in', peer: aor, peerName: note.displayName || null, at, durationMs: note.durationMs, mime: note.mime, heard: false, state: 'received', identity }, payload)
      return 'voicemail'
    }
    const text = payload ? payload.toString('utf8') : note.text
    // The MESSAGE it stands for may have got through after all: shown once.
    if (this.deps.messages.seen({ from: aor, callId: note.callId, cseq: note.cseq })) return 'dropped'
    const message: StoredMessage = {
      kind: 'message',
      id: randomUUID(),
      direction: 'in',
      from: aor,
      fromName: note.displayName || null,
      to: this.deps.aor,
      contentType: 'text/plain',
      text,
      at,
      callId: note.callId,
      cseq: note.cseq,
      peerKey: senderKey,
      identity,
      status: 'received',
      sipStatus: null,
      mailed: true
    }
    await this.deps.messages.add(message)
    this.emit('message', message)
    return 'message'
  }

  // ── Holding others' mail (super-node) ──────────────────────────────────────

  /** This node became a super-node: serve the plugin and repair. */
  async promoted(): Promise<void> {
    this.holder ??= await MailboxHolder.open(
      join(this.deps.dataDir, 'mailboxes'),
      { dht: this.deps.dht(), log: this.deps.log, blobs: { hold: (key, length) => this.blobs.hold(key, length), release: (key) => this.blobs.release(key) } },
      { replicas: this.opts.replicas ?? DEFAULT_REPLICAS, repairMs: this.opts.repairMs ?? DEFAULT_REPAIR_MS, probeTimeoutMs: this.opts.probeTimeoutMs, limits: this.opts.limits }
    )
    this.holder.start()
  }

  /** Stepping down (or quitting) as a super-node: hand every mailbox to the next closest. */
  async steppingDown(): Promise<void> {
    if (this.holder?.isActive) await this.holder.handOff()
  }

  /** Run a repair round now (diagnostics, tests); null when not a holder. */
  async repair(): Promise<RepairReport | null> {
    return this.holder?.isActive ? this.holder.repair() : null
  }

  async status(): Promise<MailboxStatus> {
    const stats = this.holder ? await this.holder.stats() : { mailboxes: 0, envelopes: 0, bytes: 0 }
    return {
      voicemail: this.voicemails.waiting(),
      lastFetchAt: this.lastFetchAt?.toISOString() ?? null,
      lastFetchError: this.lastFetchError,
      holder: { active: this.holder?.isActive ?? false, ...stats, blobs: this.blobs.held().filter((b) => b.role === 'held').length }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    await this.checking?.catch(() => {})
    await this.holder?.close()
    await this.blobs.close()
    await this.voicemails.close()
    await this.ledger.close()
  }
}
