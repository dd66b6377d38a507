import Corestore from 'corestore'
import Hyperbee from 'hyperbee'
import sodium from 'sodium-universal'
import { decodeEnvelope, encodeEnvelope, envelopeId, type Envelope } from './envelope.js'
import type { Attachment } from './mailbox-wire.js'

/**
 * Why a store was refused; the sender sees the code (never silent loss).
 * DELETED: the recipient already read and deleted this envelope (a late replica).
 */
export type StoreRefusal = 'MAILBOX_FULL' | 'MAILBOX_BYTES' | 'RATE_LIMITED' | 'TOO_LARGE' | 'DELETED'

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
  attachment: Attachment | null
}

/** A live envelope, or a tombstone (`deleted`, no bytes) kept until expiry so late replicas are refused. */
interface Row {
  bytes: Buffer
  storedAt: number
  expiresAt: number
  deleted: boolean
  attachment: Attachment | null
}

export interface HolderStats {
  mailboxes: number
  envelopes: number
  bytes: number
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

  /**
   * Keep an envelope; the same envelope twice is stored once (its id is the hash of
   * its bytes). `requester` is who is rate-limited (null: a holder's replica, exempt).
   */
  async put(
    envelope: Envelope,
    requester: string | null,
    now = Date.now(),
    attachment: Attachment | null = null
  ): Promise<{ ok: true; id: Buffer; duplicate: boolean } | { ok: false; code: StoreRefusal }> {
    const bytes = encodeEnvelope(envelope)
    if (bytes.length > this.limits.maxEnvelopeBytes) return { ok: false, code: 'TOO_LARGE' }
    const id = envelopeId(envelope)
    const key = rowKey(envelope.mailbox, id)
    const existing = await this.bee.get(key)
    if (existing && existing.value.expiresAt > now) return existing.value.deleted ? { ok: false, code: 'DELETED' } : { ok: true, id, duplicate: true }
    if (requester !== null && !this.allow(requester, now)) return { ok: false, code: 'RATE_LIMITED' }
    const held = await this.list(envelope.mailbox, now)
    if (held.length >= this.limits.maxEnvelopes) return { ok: false, code: 'MAILBOX_FULL' }
    if (held.reduce((n, e) => n + e.bytes.length, 0) + bytes.length > this.limits.maxBytes) return { ok: false, code: 'MAILBOX_BYTES' }
    await this.bee.put(key, { bytes, storedAt: now, expiresAt: now + this.limits.ttlMs, deleted: false, attachment })
    return { ok: true, id, duplicate: false }
  }

  /** A mailbox's unexpired envelopes, oldest first. */
  async list(mailbox: Buffer, now = Date.now()): Promise<StoredEnvelope[]> {
    const out: StoredEnvelope[] = []
    for await (const { id, row } of this.rows(mailbox)) {
      if (row.expiresAt <= now || row.deleted) continue
      out.push(stored(id, row))
    }
    return out.sort((a, b) => a.storedAt - b.storedAt || Buffer.compare(a.id, b.id))
  }

  /** Live envelopes with these ids (a holder asking for what it misses). */
  async get(mailbox: Buffer, ids: Buffer[], now = Date.now()): Promise<StoredEnvelope[]> {
    const out: StoredEnvelope[] = []
    for (const id of ids) {
      const hit = await this.bee.get(rowKey(mailbox, id))
      if (hit && !hit.value.deleted && hit.value.expiresAt > now) out.push(stored(id, hit.value))
    }
    return out
  }

  /**
   * One page of a mailbox's ids after `after` in id order, live and deleted apart:
   * what holders compare when they repair.
   */
  async page(mailbox: Buffer, after: Buffer | null, limit: number, now = Date.now()): Promise<{ ids: Buffer[]; deleted: Buffer[]; more: boolean }> {
    const ids: Buffer[] = []
    const deleted: Buffer[] = []
    for await (const { id, row } of this.rows(mailbox, after)) {
      if (row.expiresAt <= now) continue
      if (ids.length + deleted.length === limit) return { ids, deleted, more: true }
      ;(row.deleted ? deleted : ids).push(id)
    }
    return { ids, deleted, more: false }
  }

  /** How many live envelopes a mailbox holds and a digest of their ids (sorted), for cheap comparison. */
  async digest(mailbox: Buffer, now = Date.now()): Promise<{ count: number; digest: Buffer }> {
    const ids: Buffer[] = []
    for await (const { id, row } of this.rows(mailbox)) if (!row.deleted && row.expiresAt > now) ids.push(id)
    const digest = Buffer.alloc(32)
    sodium.crypto_generichash(digest, Buffer.concat([Buffer.from('parley/mailbox/ids/v1'), ...ids]))
    return { count: ids.length, digest }
  }

  /**
   * The recipient read these: each becomes a tombstone until it would have
   * expired, so a holder that missed the deletion cannot bring it back. Returns
   * the attachments no envelope needs any more.
   */
  async delete(mailbox: Buffer, ids: Buffer[], now = Date.now()): Promise<{ removed: number; released: Attachment[] }> {
    let removed = 0
    const released: Attachment[] = []
    // One batch, one append: a recipient deletes a page of ids at every holder at once.
    const batch = this.bee.batch()
    for (const id of ids) {
      const key = rowKey(mailbox, id)
      const hit = await batch.get(key)
      if (hit?.value.deleted) continue
      await batch.put(key, { bytes: Buffer.alloc(0), storedAt: now, expiresAt: hit?.value.expiresAt ?? now + this.limits.ttlMs, deleted: true, attachment: null })
      if (!hit) continue
      removed++
      if (hit.value.attachment) released.push(hit.value.attachment)
    }
    await batch.flush()
    return { removed, released }
  }

  /** Forget envelopes outright (a holder that handed them on and is no longer responsible). */
  async drop(mailbox: Buffer, ids: Buffer[]): Promise<void> {
    const batch = this.bee.batch()
    for (const id of ids) await batch.del(rowKey(mailbox, id))
    await batch.flush()
  }

  /** Every mailbox with live envelopes, for hand-off and repair. */
  async mailboxes(now = Date.now()): Promise<Buffer[]> {
    const seen = new Set<string>()
    for await (const { key, value } of this.bee.createReadStream()) if (!value.deleted && value.expiresAt > now) seen.add(key.slice(0, 64))
    return [...seen].map((h) => Buffer.from(h, 'hex'))
  }

  async stats(now = Date.now()): Promise<HolderStats> {
    const boxes = new Set<string>()
    let envelopes = 0
    let bytes = 0
    for await (const { key, value } of this.bee.createReadStream()) {
      if (value.deleted || value.expiresAt <= now) continue
      boxes.add(key.slice(0, 64))
      envelopes++
      bytes += value.bytes.length
    }
    return { mailboxes: boxes.size, envelopes, bytes }
  }

  /** Drop expired envelopes and tombstones; returns how many and the attachments to release. */
  async expire(now = Date.now()): Promise<{ expired: number; released: Attachment[] }> {
    const stale: string[] = []
    const released: Attachment[] = []
    for await (const { key, value } of this.bee.createReadStream()) {
      if (value.expiresAt > now) continue
      stale.push(key)
      if (value.attachment && !value.deleted) released.push(value.attachment)
    }
    const batch = this.bee.batch()
    for (const key of stale) await batch.del(key)
    await batch.flush()
    return { expired: stale.length, released }
  }

  private async *rows(mailbox: Buffer, after: Buffer | null = null): AsyncGenerator<{ id: Buffer; row: Row }> {
    const prefix = `${mailbox.toString('hex')}/`
    const range = after ? { gt: `${prefix}${after.toString('hex')}`, lt: `${prefix}~` } : { gte: prefix, lt: `${prefix}~` }
    for await (const { key, value } of this.bee.createReadStream(range)) yield { id: Buffer.from(key.slice(prefix.length), 'hex'), row: value }
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

function stored(id: Buffer, row: Row): StoredEnvelope {
  return { id, envelope: decodeEnvelope(row.bytes), bytes: row.bytes, storedAt: row.storedAt, expiresAt: row.expiresAt, attachment: row.attachment }
}

function rowKey(mailbox: Buffer, id: Buffer): string {
  return `${mailbox.toString('hex')}/${id.toString('hex')}`
}

/** Rows as JSON with the envelope bytes in base64 (small, and readable when debugging). */
const rowEncoding = {
  encode(row: Row): Buffer {
    const a = row.attachment ? { k: row.attachment.key.toString('hex'), l: row.attachment.length } : undefined
    return Buffer.from(JSON.stringify({ b: row.bytes.toString('base64'), s: row.storedAt, e: row.expiresAt, d: row.deleted || undefined, a }))
  },
  decode(buf: Buffer): Row {
    const o = JSON.parse(buf.toString()) as { b: string; s: number; e: number; d?: boolean; a?: { k: string; l: number } }
    return { bytes: Buffer.from(o.b, 'base64'), storedAt: o.s, expiresAt: o.e, deleted: o.d === true, attachment: o.a ? { key: Buffer.from(o.a.k, 'hex'), length: o.a.l } : null }
  }
}
