import type HyperDHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import { decodeEnvelope, encodeEnvelope, envelopeId, EnvelopeError, mailboxId, type Envelope } from './envelope.js'
import { pluginRequest } from './dht-plugin.js'
import { findHolders, type Holder, type HolderSet } from './holder-set.js'
import { DEFAULT_REPLICAS } from './mailbox-holder.js'
import { signDelete, signFetch } from './mailbox-proof.js'
import {
  Command,
  decode,
  deleteReply,
  deleteRequest,
  encode,
  envelopesReply,
  fetchRequest,
  IDS_PER_PAGE,
  statusReply,
  storeRequest,
  type Attachment,
  type Status
} from './mailbox-wire.js'

export interface StoreOutcome {
  stored: boolean
  /** Holders that acknowledged (stored it, or already had it). */
  acks: number
  /** Holders asked. */
  asked: number
  /** Why it was not stored: the refusal most holders gave, NO_HOLDERS, or NO_MAJORITY. */
  code: string | null
  replies: Array<{ holder: string; status: Status | 'TIMEOUT' }>
}

export interface FetchedEnvelope {
  id: Buffer
  envelope: Envelope
  /** Holders that returned it. */
  from: string[]
}

export interface FetchOutcome {
  envelopes: FetchedEnvelope[]
  holders: Holder[]
  /** Holders that did not answer or refused, with why. */
  failures: Array<{ holder: string; status: string }>
}

export interface ClientOptions {
  replicas?: number
  probeTimeoutMs?: number
  requestTimeoutMs?: number
}

const HOLDER_CACHE_MS = 20_000
const QUOTA = new Set<string>(['MAILBOX_FULL', 'MAILBOX_BYTES', 'RATE_LIMITED', 'TOO_LARGE'])

/**
 * A peer's side of the mailbox plugin: store an envelope at the r closest
 * responsive super-nodes to the recipient's mailbox id (done when a majority
 * acknowledged), and, for our own mailbox, fetch from every holder and delete
 * what we have read, each request carrying the proof the key is ours.
 */
export class MailboxClient {
  private readonly replicas: number
  private readonly sets = new Map<string, HolderSet>()

  constructor(
    private readonly dht: () => HyperDHT,
    private readonly opts: ClientOptions = {}
  ) {
    this.replicas = opts.replicas ?? DEFAULT_REPLICAS
  }

  get majority(): number {
    return Math.floor(this.replicas / 2) + 1
  }

  private async holders(mailbox: Buffer, want: number, fresh: boolean): Promise<HolderSet> {
    const key = mailbox.toString('hex')
    const cached = this.sets.get(key)
    if (!fresh && cached && Date.now() - cached.at < HOLDER_CACHE_MS && cached.holders.length >= want) return cached
    const set = await findHolders(this.dht(), mailbox, { want, probeTimeoutMs: this.opts.probeTimeoutMs })
    this.sets.set(key, set)
    if (this.sets.size > 1000) this.sets.delete(this.sets.keys().next().value!)
    return set
  }

  /**
   * Store at the r closest responsive holders; a holder that refuses or stays
   * silent is replaced by the next closest. Stored when a majority acknowledged.
   */
  async store(envelope: Envelope, attachment: Attachment | null = null): Promise<StoreOutcome> {
    const first = await this.tryStore(envelope, attachment, false)
    if (first.stored || QUOTA.has(first.code ?? '')) return first
    return this.tryStore(envelope, attachment, true)
  }

  private async tryStore(envelope: Envelope, attachment: Attachment | null, fresh: boolean): Promise<StoreOutcome> {
    const r = this.replicas
    const set = await this.holders(envelope.mailbox, 2 * r, fresh)
    const value = encode(storeRequest, { envelope: encodeEnvelope(envelope), replica: false, attachment })
    const replies: StoreOutcome['replies'] = []
    let acks = 0
    let inflight = 0
    let refused = 0
    let next = 0
    // A silent holder is replaced by the next closest (never overshooting r); a quota
    // refusal is an answer, not replaced — or a full mailbox would spill to 2r holders.
    const ask = async (): Promise<void> => {
      while (acks + inflight + refused < r && next < set.holders.length) {
        const holder = set.holders[next++]!
        inflight++
        const reply = await this.request(holder, envelope.mailbox, Command.STORE, value, statusReply)
        inflight--
        const status = reply?.status ?? 'TIMEOUT'
        replies.push({ holder: address(holder), status })
        if (status === 'OK' || status === 'DUPLICATE') acks++
        else if (QUOTA.has(status)) refused++
      }
    }
    await Promise.all(Array.from({ length: Math.min(r, set.holders.length) }, ask))
    const stored = acks >= this.majority
    return { stored, acks, asked: replies.length, code: stored ? null : set.holders.length === 0 ? 'NO_HOLDERS' : commonRefusal(replies), replies }
  }

  /** Everything in our mailbox, from every responsive holder among the closest 2r, de-duplicated by envelope id. */
  async fetch(keyPair: KeyPair): Promise<FetchOutcome> {
    const mailbox = mailboxId(keyPair.publicKey)
    const set = await this.holders(mailbox, 2 * this.replicas, true)
    const found = new Map<string, FetchedEnvelope>()
    const failures: FetchOutcome['failures'] = []
    await Promise.all(
      set.holders.map(async (holder) => {
        let after: Buffer | null = null
        for (let pages = 0; pages < 1000; pages++) {
          const value = encode(fetchRequest, { publicKey: keyPair.publicKey, after, signature: signFetch(keyPair, holder.token, mailbox, after) })
          const page = await this.request(holder, mailbox, Command.FETCH, value, envelopesReply)
          if (!page || page.status !== 'OK') {
            failures.push({ holder: address(holder), status: page?.status ?? 'TIMEOUT' })
            return
          }
          for (const { bytes } of page.envelopes) {
            let envelope: Envelope
            try {
              envelope = decodeEnvelope(bytes)
            } catch (err) {
              if (err instanceof EnvelopeError) continue
              throw err
            }
            const id = envelopeId(envelope)
            const hex = id.toString('hex')
            const entry = found.get(hex) ?? { id, envelope, from: [] }
            entry.from.push(address(holder))
            found.set(hex, entry)
            if (!after || Buffer.compare(id, after) > 0) after = id
          }
          if (!page.more || page.envelopes.length === 0) return
        }
      })
    )
    return { envelopes: [...found.values()], holders: set.holders, failures }
  }

  /** Delete read envelopes at every holder (holders that never had one keep a tombstone against late replicas). */
  async delete(keyPair: KeyPair, ids: Buffer[], holders: Holder[]): Promise<{ removed: number; failures: number }> {
    const mailbox = mailboxId(keyPair.publicKey)
    let removed = 0
    let failures = 0
    await Promise.all(
      holders.map(async (holder) => {
        for (let i = 0; i < ids.length; i += IDS_PER_PAGE) {
          const chunk = ids.slice(i, i + IDS_PER_PAGE)
          const value = encode(deleteRequest, { publicKey: keyPair.publicKey, ids: chunk, signature: signDelete(keyPair, holder.token, mailbox, chunk) })
          const reply = await this.request(holder, mailbox, Command.DELETE, value, deleteReply)
          if (reply?.status === 'OK') removed += reply.removed
          else failures++
        }
      })
    )
    return { removed, failures }
  }

  private async request<T>(holder: Holder, mailbox: Buffer, command: number, value: Buffer, codec: Parameters<typeof decode<T>>[0]): Promise<T | null> {
    const reply = await pluginRequest(this.dht(), holder.node, { token: holder.token, target: mailbox, command, value }, this.opts.requestTimeoutMs ?? 5000)
    return decode(codec, reply?.value)
  }
}

function address(h: Holder): string {
  return `${h.node.host}:${h.node.port}`
}

/** The refusal most holders gave (a quota code the sender should see), else NO_MAJORITY. */
function commonRefusal(replies: StoreOutcome['replies']): string {
  const counts = new Map<string, number>()
  for (const { status } of replies) if (status !== 'OK' && status !== 'DUPLICATE' && status !== 'TIMEOUT') counts.set(status, (counts.get(status) ?? 0) + 1)
  const top = [...counts].sort((a, b) => b[1] - a[1])[0]
  return top ? top[0] : 'NO_MAJORITY'
}
