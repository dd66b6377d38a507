import Corestore from 'corestore'
import Hyperbee from 'hyperbee'
import { decodeEnvelope, encodeEnvelope, envelopeId, type Envelope } from './envelope.js'

/** Why a store was refused; the sender sees the code (never silent loss). */
export type StoreRefusal = 'MAILBOX_FULL' | 'MAILBOX_BYTES' | 'RATE_LIMITED' | 'TOO_LARGE'

export interface MailboxLimits {
  /** Envelopes one mailbox may hold. */
  maxEnvelopes: number
  /** Bytes one mailbox may hold. */
  maxBytes: number
  /** Stores one requester (address) may make per minute. */
  storesPerMinute: number
  /** Envelopes expire this long after being stored. */
  ttlMs: number
  maxEnvelopeBytes: number
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = {
  maxEnvelopes: 500,
  maxBytes: 512 * 1024,
  storesPerMinute: 120,
  ttlMs: 30 * 24 * 3600_000,
  maxEnvelopeBytes: 1024
}

export interface StoredEnvelope {
  id: Buffer
  envelope: Envelope
  bytes: Buffer
  storedAt: number
  expiresAt: number
}

interface Row {
  bytes: Buffer
  storedAt: number
  expiresAt: number
}

/**
 * A super-node's mailboxes on disk: a Hyperbee keyed `mailbox/id`, so one mailbox
 * is one range scan and the holders of a mailbox can compare ids cheaply. Rows keep
 * the envelope's wire bytes and the storage times; nothing here can read a letter.
 */
export class MailboxStore {
  private readonly rates = new Map<string, number[]>()

  private constructor(
    private readonly store: Corestore,
    private readonly bee: Hyperbee<string, Row>,
    readonly limits: MailboxLimits
  ) {}

  static async open(dir: string, limits: Partial<MailboxLimits> = {}): Promise<MailboxStore> {
    const store = new Corestore(dir)
    const core = store.get({ name: 'mailboxes' })
    const bee = new Hyperbee<string, Row>(core, { keyEncoding: 'utf-8', valueEncoding: rowEncoding })
    await bee.ready()
    return new MailboxStore(store, bee, { ...DEFAULT_MAILBOX_LIMITS, ...limits })
  }

  /** Keep an envelope; the same envelope twice is stored once (its id is the hash of its bytes). */
  async put(envelope: Envelope, requester: string, now = Date.now()): Promise<{ ok: true; id: Buffer; duplicate: boolean } | { ok: false; code: StoreRefusal }> {
    const bytes = encodeEnvelope(envelope)
    if (bytes.length > this.limits.maxEnvelopeBytes) return { ok: false, code: 'TOO_LARGE' }
    const id = envelopeId(envelope)
    const key = rowKey(envelope.mailbox, id)
    if (await this.bee.get(key)) return { ok: true, id, duplicate: true }
    if (!this.allow(requester, now)) return { ok: false, code: 'RATE_LIMITED' }
    const held = await this.list(envelope.mailbox, now)
    if (held.length >= this.limits.maxEnvelopes) return { ok: false, code: 'MAILBOX_FULL' }
    if (held.reduce((n, e) => n + e.bytes.length, 0) + bytes.length > this.limits.maxBytes) return { ok: false, code: 'MAILBOX_BYTES' }
    await this.bee.put(key, { bytes, storedAt: now, expiresAt: now + this.limits.ttlMs })
    return { ok: true, id, duplicate: false }
  }

  /** A mailbox's unexpired envelopes, oldest first. */
  async list(mailbox: Buffer, now = Date.now()): Promise<StoredEnvelope[]> {
    const prefix = `${mailbox.toString('hex')}/`
    const out: StoredEnvelope[] = []
    for await (const { key, value } of this.bee.createReadStream({ gte: prefix, lt: `${prefix}~` })) {
      if (value.expiresAt <= now) continue
      out.push({ id: Buffer.from(key.slice(prefix.length), 'hex'), envelope: decodeEnvelope(value.bytes), bytes: value.bytes, storedAt: value.storedAt, expiresAt: value.expiresAt })
    }
    return out.sort((a, b) => a.storedAt - b.storedAt)
  }

  async delete(mailbox: Buffer, ids: Buffer[]): Promise<number> {
    let removed = 0
    for (const id of ids) {
      const key = rowKey(mailbox, id)
      if (!(await this.bee.get(key))) continue
      await this.bee.del(key)
      removed++
    }
    return removed
  }

  /** Every mailbox id held, for hand-off and repair. */
  async mailboxes(): Promise<Buffer[]> {
    const seen = new Set<string>()
    for await (const { key } of this.bee.createReadStream()) seen.add(key.slice(0, 64))
    return [...seen].map((h) => Buffer.from(h, 'hex'))
  }

  /** Drop expired envelopes; returns how many. */
  async expire(now = Date.now()): Promise<number> {
    const stale: string[] = []
    for await (const { key, value } of this.bee.createReadStream()) if (value.expiresAt <= now) stale.push(key)
    for (const key of stale) await this.bee.del(key)
    return stale.length
  }

  private allow(requester: string, now: number): boolean {
    const recent = (this.rates.get(requester) ?? []).filter((t) => now - t < 60_000)
    if (recent.length >= this.limits.storesPerMinute) {
      this.rates.set(requester, recent)
      return false
    }
    recent.push(now)
    this.rates.set(requester, recent)
    if (this.rates.size > 10_000) this.rates.delete(this.rates.keys().next().value!)
    return true
  }

  async close(): Promise<void> {
    await this.bee.close()
    await this.store.close()
  }
}

function rowKey(mailbox: Buffer, id: Buffer): string {
  return `${mailbox.toString('hex')}/${id.toString('hex')}`
}

/** Rows as JSON with the envelope bytes in base64 (small, and readable when debugging). */
const rowEncoding = {
  encode(row: Row): Buffer {
    return Buffer.from(JSON.stringify({ b: row.bytes.toString('base64'), s: row.storedAt, e: row.expiresAt }))
  },
  decode(buf: Buffer): Row {
    const o = JSON.parse(buf.toString()) as { b: string; s: number; e: number }
    return { bytes: Buffer.from(o.b, 'base64'), storedAt: o.s, expiresAt: o.e }
  }
}
