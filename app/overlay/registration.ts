import type HyperDHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import type { Logger } from 'pino'
import type { Aor } from '../identity/aor.js'
import { aorTopic } from './topic.js'
import { addLocalRecord, removeLocalRecord } from './local-records.js'

/**
 * A user's presence on the overlay: an ANNOUNCE at H(AOR), signed by the
 * user's key, refreshed before the DHT forgets it (records live 20 minutes).
 *
 *   pending ──announce ok──► announced ──refresh ok──► announced
 *      ▲  │                     │
 *      │  └──fail: retry soon───┘ fail
 *      └──────────────── stop() ──► stopped (UNANNOUNCE sent)
 */
export type RegistrationState = 'pending' | 'announced' | 'stopped'

export interface RegistrationTimers {
  /** Time between refreshes of a good announcement (hyperswarm uses 10 min + jitter). */
  refreshMs: number
  /** First retry after a failed announcement; doubles up to refreshMs. */
  retryMs: number
}

export class Registration {
  readonly topic: Buffer
  state: RegistrationState = 'pending'
  lastAnnouncedAt: Date | null = null
  lastError: string | null = null
  /** DHT nodes that acknowledged the last announcement. */
  storedAt = 0
  private timer: NodeJS.Timeout | null = null
  private retryMs: number
  private current: Promise<void> | null = null

  constructor(
    private readonly dht: () => HyperDHT,
    readonly aor: Aor,
    private readonly keyPair: KeyPair,
    private readonly timers: RegistrationTimers,
    private readonly log: Logger,
    /** Another topic than the AOR's (a super-node's relay offer). */
    topic?: Buffer
  ) {
    this.topic = topic ?? aorTopic(aor)
    this.retryMs = timers.retryMs
  }

  /** Announce now; resolves once the attempt finished, whatever its outcome. */
  refresh(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve()
    this.current ??= this.announce().finally(() => {
      this.current = null
    })
    return this.current
  }

  private async announce(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    const dht = this.dht()
    const local = addLocalRecord(dht, this.topic, this.keyPair.publicKey)
    const query = dht.announce(this.topic, this.keyPair, [])
    try {
      await query.finished()
      this.storedAt = query.closestReplies.length
      this.markAnnounced()
    } catch (err) {
      this.storedAt = 0
      // A lone node of a new overlay holds its own record; that is all there is to do.
      if (local) this.markAnnounced()
      else this.markFailed(err as Error)
    }
  }

  private markAnnounced(): void {
    if (this.state === 'stopped') return
    this.state = 'announced'
    this.lastAnnouncedAt = new Date()
    this.lastError = null
    this.retryMs = this.timers.retryMs
    this.schedule(this.timers.refreshMs * (0.9 + Math.random() * 0.2))
  }

  private markFailed(err: Error): void {
    if (this.state === 'stopped') return
    this.state = 'pending'
    this.lastError = err.message
    this.log.warn({ aor: this.aor, err: err.message, retryInMs: this.retryMs }, 'announce failed; retrying')
    this.schedule(this.retryMs)
    this.retryMs = Math.min(this.retryMs * 2, this.timers.refreshMs)
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.refresh(), ms)
    this.timer.unref()
  }

  /** Stop refreshing and withdraw the announcement (graceful leave). */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.state === 'stopped') return
    this.state = 'stopped'
    if (this.timer) clearTimeout(this.timer)
    const dht = this.dht()
    removeLocalRecord(dht, this.topic, this.keyPair.publicKey)
    if (this.current) await this.current.catch(() => {})
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([dht.unannounce(this.topic, this.keyPair).catch(() => {}), timeout])
    clearTimeout(timer)
  }
}
