import type HyperDHT from 'hyperdht'
import type { Logger } from 'pino'
import { decodeEnvelope, EnvelopeError, mailboxId } from './envelope.js'
import { hasPlugin, pluginRequest, registerPlugin, type PluginCall } from './dht-plugin.js'
import { findHolders, isResponsible, type Holder } from './holder-set.js'
import { MailboxStore, type HolderStats, type MailboxLimits } from './mailbox-store.js'
import { verifyDelete, verifyFetch } from './mailbox-proof.js'
import {
  Command,
  decode,
  deleteReply,
  deleteRequest,
  encode,
  envelopesReply,
  fetchRequest,
  getRequest,
  heldEnvelopeSize,
  IDS_PER_PAGE,
  probeReply,
  REPLY_BUDGET,
  statusReply,
  storeRequest,
  syncReply,
  syncRequest,
  type Attachment,
  type HeldEnvelope,
  type Status,
  type SyncReply
} from './mailbox-wire.js'

/** What a holder does with a large payload's Hypercore (app/mailbox/blob-store.ts). */
export interface BlobHolding {
  hold(key: Buffer, length: number): Promise<void>
  release(key: Buffer): Promise<void>
}

export interface HolderOptions {
  /** Replication factor r: copies of each envelope, at the r closest responsive super-nodes. */
  replicas: number
  /** How often holders compare mailboxes with the other holders and copy what is missing. */
  repairMs: number
  probeTimeoutMs?: number
  limits?: Partial<MailboxLimits>
}

export const DEFAULT_REPLICAS = 5
export const DEFAULT_REPAIR_MS = 10 * 60_000
/** Largest attachment a holder agrees to keep, in Hypercore blocks. */
export const MAX_ATTACHMENT_BLOCKS = 256
const EMPTY_DIGEST = Buffer.alloc(32)

export interface RepairReport {
  mailboxes: number
  pushed: number
  pulled: number
  dropped: number
  expired: number
  unreachable: number
}

interface Deps {
  dht: HyperDHT
  log: Logger
  blobs?: BlobHolding
}

/**
 * A super-node's side of the mailbox (docs/mailbox.md): it answers the HyperDHT
 * plugin's requests from its MailboxStore, repairs (compares each mailbox it holds
 * with the other r−1 closest holders and copies what either lacks; hands over and
 * forgets mailboxes it is no longer among the closest for), and on stepping down
 * hands everything to the next closest before it stops answering.
 */
export class MailboxHolder {
  private active = false
  private timer: NodeJS.Timeout | null = null
  private repairing: Promise<RepairReport> | null = null
  lastRepair: (RepairReport & { at: string }) | null = null

  private constructor(
    readonly store: MailboxStore,
    private readonly deps: Deps,
    readonly opts: HolderOptions
  ) {
    if (!hasPlugin(deps.dht)) registerPlugin(deps.dht, (call) => this.onrequest(call))
  }

  static async open(dir: string, deps: Deps, opts: Partial<HolderOptions> = {}): Promise<MailboxHolder> {
    const store = await MailboxStore.open(dir, opts.limits)
    return new MailboxHolder(store, deps, { replicas: DEFAULT_REPLICAS, repairMs: DEFAULT_REPAIR_MS, ...opts })
  }

  get isActive(): boolean {
    return this.active
  }

  /** Start answering (the DHT node is persistent now) and repairing periodically. */
  start(): void {
    if (this.active) return
    this.active = true
    this.schedule(Math.min(this.opts.repairMs, 5_000))
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer)
    // setTimeout fires at once for delays past 2^31 − 1 ms: clamp.
    const jittered = Math.min(ms * (0.75 + Math.random() * 0.5), 2 ** 31 - 1)
    this.timer = setTimeout(() => {
      void this.repair()
        .catch((err: Error) => this.deps.log.warn({ err: err.message }, 'mailbox repair failed'))
        .finally(() => this.active && this.schedule(this.opts.repairMs))
    }, jittered)
    this.timer.unref()
  }

  async stats(): Promise<HolderStats> {
    return this.store.stats()
  }

  // ── Serving the plugin ────────────────────────────────────────────────────

  private onrequest(call: PluginCall): void {
    this.handle(call).then(
      (reply) => call.reply(reply),
      (err: Error) => {
        this.deps.log.warn({ err: err.message, command: call.command }, 'mailbox request failed')
        call.reply(encode(statusReply, { status: 'BAD_REQUEST' }))
      }
    )
  }

  private async handle(call: PluginCall): Promise<Buffer> {
    const refuse = (status: Status) => refusal(call.command, status)
    if (!this.active) return refuse('NOT_HOLDER')
    const mailbox = call.target
    if (!mailbox || mailbox.length !== 32) return refuse('BAD_REQUEST')
    switch (call.command) {
      case Command.PROBE: {
        const { count, digest } = await this.store.digest(mailbox)
        return encode(probeReply, { status: 'OK', held: count, digest })
      }
      case Command.STORE:
        return encode(statusReply, { status: await this.onstore(call, mailbox) })
      case Command.FETCH:
        return this.onfetch(call, mailbox)
      case Command.DELETE:
        return this.ondelete(call, mailbox)
      case Command.SYNC: {
        // Holder to holder only: a persistent node (dht-rpc checked its id against its address).
        if (!call.from.id) return refuse('FORBIDDEN')
        const req = decode(syncRequest, call.value)
        if (!req) return refuse('BAD_REQUEST')
        return encode(syncReply, { status: 'OK', ...(await this.store.page(mailbox, req.after, IDS_PER_PAGE)) })
      }
      case Command.GET: {
        if (!call.from.id) return refuse('FORBIDDEN')
        const req = decode(getRequest, call.value)
        if (!req || req.ids.length > IDS_PER_PAGE) return refuse('BAD_REQUEST')
        const found = await this.store.get(mailbox, req.ids)
        return envelopesPage(found.map((e) => ({ bytes: e.bytes, attachment: e.attachment })))
      }
      default:
        return refuse('BAD_REQUEST')
    }
  }

  private async onstore(call: PluginCall, mailbox: Buffer): Promise<Status> {
    if (!call.token) return 'NO_TOKEN'
    const req = decode(storeRequest, call.value)
    if (!req) return 'BAD_REQUEST'
    let envelope
    try {
      envelope = decodeEnvelope(req.envelope)
    } catch (err) {
      if (err instanceof EnvelopeError) return 'BAD_REQUEST'
      throw err
    }
    if (!envelope.mailbox.equals(mailbox)) return 'BAD_REQUEST'
    const attachment = req.attachment
    if (attachment && (attachment.length === 0 || attachment.length > MAX_ATTACHMENT_BLOCKS)) return 'TOO_LARGE'
    if (attachment && !this.deps.blobs) return 'TOO_LARGE'
    // A replica pushed by another holder is not rate-limited; only persistent nodes may push them.
    const requester = req.replica && call.from.id ? null : call.from.host
    const result = await this.store.put(envelope, requester, Date.now(), attachment)
    if (!result.ok) return result.code
    if (!result.duplicate && attachment) this.holdBlob(attachment)
    return result.duplicate ? 'DUPLICATE' : 'OK'
  }

  private holdBlob(a: Attachment): void {
    this.deps.blobs?.hold(a.key, a.length).catch((err: Error) => this.deps.log.warn({ err: err.message, core: a.key.toString('hex') }, 'could not hold an attachment'))
  }

  private releaseBlobs(released: Attachment[]): void {
    for (const a of released) this.deps.blobs?.release(a.key).catch(() => {})
  }

  private async onfetch(call: PluginCall, mailbox: Buffer): Promise<Buffer> {
    if (!call.token) return refusal(Command.FETCH, 'NO_TOKEN')
    const req = decode(fetchRequest, call.value)
    if (!req) return refusal(Command.FETCH, 'BAD_REQUEST')
    if (!mailboxId(req.publicKey).equals(mailbox) || !verifyFetch(req.signature, req.publicKey, call.token, mailbox, req.after)) {
      return refusal(Command.FETCH, 'BAD_PROOF')
    }
    const page = await this.store.page(mailbox, req.after, IDS_PER_PAGE)
    const found = await this.store.get(mailbox, page.ids)
    const reply = envelopesPage(found.map((e) => ({ bytes: e.bytes, attachment: null })), page.more)
    return reply
  }

  private async ondelete(call: PluginCall, mailbox: Buffer): Promise<Buffer> {
    if (!call.token) return refusal(Command.DELETE, 'NO_TOKEN')
    const req = decode(deleteRequest, call.value)
    if (!req || req.ids.length > IDS_PER_PAGE) return refusal(Command.DELETE, 'BAD_REQUEST')
    if (!mailboxId(req.publicKey).equals(mailbox) || !verifyDelete(req.signature, req.publicKey, call.token, mailbox, req.ids)) {
      return refusal(Command.DELETE, 'BAD_PROOF')
    }
    const { removed, released } = await this.store.delete(mailbox, req.ids)
    this.releaseBlobs(released)
    return encode(deleteReply, { status: 'OK', removed })
  }

  // ── Repair and hand-off ───────────────────────────────────────────────────

  /**
   * One repair round over every mailbox held: find its r closest responsive
   * holders; if we are one of them, make sure every other one has every envelope
   * we have (push) and we have theirs (pull); if we are not, push to all r and,
   * once all r have every envelope, forget ours.
   */
  repair(): Promise<RepairReport> {
    this.repairing ??= this.repairRound().finally(() => {
      this.repairing = null
    })
    return this.repairing
  }

  private async repairRound(): Promise<RepairReport> {
    const report: RepairReport = { mailboxes: 0, pushed: 0, pulled: 0, dropped: 0, expired: 0, unreachable: 0 }
    const { expired, released } = await this.store.expire()
    report.expired = expired
    this.releaseBlobs(released)
    const r = this.opts.replicas
    for (const mailbox of await this.store.mailboxes()) {
      if (!this.active || this.deps.dht.destroyed) break
      report.mailboxes++
      const set = await findHolders(this.deps.dht, mailbox, { want: r, probeTimeoutMs: this.opts.probeTimeoutMs })
      const responsible = isResponsible(set, r)
      const targets = set.holders.slice(0, responsible ? r - 1 : r)
      const mine = await this.store.digest(mailbox)
      let covering = 0
      for (const target of targets) {
        if (target.digest.equals(mine.digest) && !target.digest.equals(EMPTY_DIGEST)) {
          covering++
          continue
        }
        const result = await this.reconcile(mailbox, target, responsible)
        if (!result) {
          report.unreachable++
          continue
        }
        report.pushed += result.pushed
        report.pulled += result.pulled
        if (result.covers) covering++
      }
      if (!responsible && targets.length >= r && covering === targets.length) {
        const ids = (await this.store.list(mailbox)).map((e) => e.id)
        await this.store.drop(mailbox, ids)
        report.dropped += ids.length
      }
    }
    this.lastRepair = { ...report, at: new Date().toISOString() }
    if (report.pushed || report.pulled || report.dropped) this.deps.log.info(report, 'mailbox repair')
    return report
  }

  /**
   * Bring one other holder level with us for one mailbox. `covers`: it now has
   * (or has deleted) every envelope we hold.
   */
  private async reconcile(mailbox: Buffer, target: Holder, pull: boolean): Promise<{ pushed: number; pulled: number; covers: boolean } | null> {
    const theirs = await this.listIds(target, mailbox)
    if (!theirs) return null
    const mine = new Set<string>()
    const gone = new Set<string>()
    for (let after: Buffer | null = null; ; ) {
      const page = await this.store.page(mailbox, after, 256)
      for (const id of page.ids) mine.add(id.toString('hex'))
      for (const id of page.deleted) gone.add(id.toString('hex'))
      const last = [...page.ids, ...page.deleted].sort(Buffer.compare).at(-1)
      if (!page.more || !last) break
      after = last
    }
    const missing = [...mine].filter((id) => !theirs.ids.has(id) && !theirs.deleted.has(id))
    let pushed = 0
    let covered = mine.size - missing.length
    for (const chunk of chunks(missing, IDS_PER_PAGE)) {
      for (const held of await this.store.get(mailbox, chunk.map((h) => Buffer.from(h, 'hex')))) {
        const status = await this.send(target, mailbox, Command.STORE, encode(storeRequest, { envelope: held.bytes, replica: true, attachment: held.attachment }), statusReply)
        if (status?.status === 'OK') pushed++
        if (status && (status.status === 'OK' || status.status === 'DUPLICATE' || status.status === 'DELETED')) covered++
      }
    }
    let pulled = 0
    if (pull) {
      const wanted = [...theirs.ids].filter((id) => !mine.has(id) && !gone.has(id))
      for (const chunk of chunks(wanted, IDS_PER_PAGE)) {
        let ids = chunk.map((h) => Buffer.from(h, 'hex'))
        while (ids.length) {
          const page = await this.send(target, mailbox, Command.GET, encode(getRequest, { ids }), envelopesReply)
          if (!page || page.status !== 'OK' || page.envelopes.length === 0) break
          for (const e of page.envelopes) {
            const stored = await this.store.put(decodeEnvelope(e.bytes), null, Date.now(), e.attachment).catch(() => null)
            if (stored?.ok && !stored.duplicate) {
              pulled++
              if (e.attachment) this.holdBlob(e.attachment)
            }
          }
          ids = ids.slice(page.envelopes.length)
        }
      }
    }
    return { pushed, pulled, covers: covered === mine.size }
  }

  /** Every id (and deletion) another holder has for a mailbox, page by page. */
  private async listIds(target: Holder, mailbox: Buffer): Promise<{ ids: Set<string>; deleted: Set<string> } | null> {
    const ids = new Set<string>()
    const deleted = new Set<string>()
    for (let after: Buffer | null = null; ; ) {
      const page: SyncReply | null = await this.send(target, mailbox, Command.SYNC, encode(syncRequest, { after }), syncReply)
      if (!page || page.status !== 'OK') return null
      for (const id of page.ids) ids.add(id.toString('hex'))
      for (const id of page.deleted) deleted.add(id.toString('hex'))
      const last: Buffer | undefined = [...page.ids, ...page.deleted].sort(Buffer.compare).at(-1)
      if (!page.more || !last) return { ids, deleted }
      after = last
    }
  }

  private async send<T>(target: Holder, mailbox: Buffer, command: number, value: Buffer, codec: Parameters<typeof decode<T>>[0]): Promise<T | null> {
    const reply = await pluginRequest(this.deps.dht, target.node, { token: target.token, target: mailbox, command, value }, 5000)
    return decode(codec, reply?.value)
  }

  /**
   * Graceful leave: hand every mailbox to the r closest holders other than us,
   * then stop answering. Returns how many envelopes went out.
   */
  async handOff(): Promise<{ mailboxes: number; pushed: number }> {
    let pushed = 0
    const boxes = await this.store.mailboxes()
    for (const mailbox of boxes) {
      if (this.deps.dht.destroyed) break
      const set = await findHolders(this.deps.dht, mailbox, { want: this.opts.replicas, probeTimeoutMs: this.opts.probeTimeoutMs })
      for (const target of set.holders) pushed += (await this.reconcile(mailbox, target, false))?.pushed ?? 0
    }
    this.stop()
    this.deps.log.info({ mailboxes: boxes.length, pushed }, 'mailboxes handed off')
    return { mailboxes: boxes.length, pushed }
  }

  /** Stop answering and repairing (the data stays on disk for a later promotion). */
  stop(): void {
    this.active = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  async close(): Promise<void> {
    this.stop()
    await this.repairing?.catch(() => {})
    await this.store.close()
  }
}

/** A refusal in the reply shape the command expects. */
function refusal(command: number, status: Status): Buffer {
  switch (command) {
    case Command.PROBE:
      return encode(probeReply, { status, held: 0, digest: EMPTY_DIGEST })
    case Command.FETCH:
    case Command.GET:
      return encode(envelopesReply, { status, envelopes: [], more: false })
    case Command.DELETE:
      return encode(deleteReply, { status, removed: 0 })
    case Command.SYNC:
      return encode(syncReply, { status, ids: [], deleted: [], more: false })
    default:
      return encode(statusReply, { status })
  }
}

/** As many envelopes as fit one reply packet (always at least one); `more` if any were left out. */
function envelopesPage(envelopes: HeldEnvelope[], more = false): Buffer {
  const page: HeldEnvelope[] = []
  let size = 8
  for (const e of envelopes) {
    const n = heldEnvelopeSize(e)
    if (page.length && size + n > REPLY_BUDGET) return encode(envelopesReply, { status: 'OK', envelopes: page, more: true })
    page.push(e)
    size += n
  }
  return encode(envelopesReply, { status: 'OK', envelopes: page, more })
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
