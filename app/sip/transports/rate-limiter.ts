import { sourceKey } from './source-address.js'

export interface RateLimitOptions {
  /** Sustained messages per second allowed from one source. */
  ratePerSecond: number
  /** Messages one source may send at once after being quiet. */
  burst: number
  /** Sources tracked at most; the least recently seen is forgotten first. */
  maxSources: number
  /** Monotonic clock in milliseconds; injectable for tests. */
  now: () => number
}

export const DEFAULT_RATE_LIMIT: Omit<RateLimitOptions, 'now'> = { ratePerSecond: 200, burst: 400, maxSources: 10_000 }

export interface RateLimitStats {
  allowed: number
  dropped: number
  /** Sources currently tracked (bounded by maxSources). */
  sources: number
  /** Sources forgotten to make room before their bucket had refilled. */
  evicted: number
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * A token bucket per source (IPv4 address or IPv6 /64, see sourceKey): each
 * message takes one token, tokens come back at `ratePerSecond` up to `burst`.
 * A flood from one source drains only its own bucket, so everyone else is still
 * served. Memory is bounded: the Map keeps sources in least-recently-seen order,
 * sources whose bucket has refilled carry no state worth keeping and are dropped
 * as they reach the front, and past `maxSources` the front one is evicted.
 */
export class SourceRateLimiter {
  private readonly opts: RateLimitOptions
  private readonly buckets = new Map<string, Bucket>()
  private allowed = 0
  private dropped = 0
  private evicted = 0

  constructor(opts: Partial<RateLimitOptions> = {}) {
    this.opts = { ...DEFAULT_RATE_LIMIT, now: () => performance.now(), ...opts }
    if (!(this.opts.ratePerSecond > 0) || !(this.opts.burst >= 1) || !(this.opts.maxSources >= 1)) {
      throw new RangeError('rate limit needs ratePerSecond > 0, burst >= 1, maxSources >= 1')
    }
  }

  /** Takes a token for one message (or connection) from `host`; false means drop it. */
  allow(host: string): boolean {
    const key = sourceKey(host)
    const now = this.opts.now()
    const bucket = this.buckets.get(key)
    let tokens = this.opts.burst
    if (bucket) {
      tokens = this.refilled(bucket, now)
      this.buckets.delete(key) // re-inserted below: moves the key to the back
    }
    const ok = tokens >= 1
    this.buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: now })
    if (ok) this.allowed++
    else this.dropped++
    this.forgetIdle(now)
    return ok
  }

  stats(): RateLimitStats {
    return { allowed: this.allowed, dropped: this.dropped, sources: this.buckets.size, evicted: this.evicted }
  }

  private refilled(bucket: Bucket, now: number): number {
    return Math.min(this.opts.burst, bucket.tokens + (Math.max(0, now - bucket.at) * this.opts.ratePerSecond) / 1000)
  }

  private forgetIdle(now: number): void {
    // At most two idle sources per call keeps each call O(1).
    for (let i = 0; i < 2; i++) {
      const first = this.buckets.entries().next()
      if (first.done) return
      const [key, bucket] = first.value
      if (this.refilled(bucket, now) < this.opts.burst) break
      this.buckets.delete(key)
    }
    while (this.buckets.size > this.opts.maxSources) {
      const key = this.buckets.keys().next().value as string
      this.buckets.delete(key)
      this.evicted++
    }
  }
}
