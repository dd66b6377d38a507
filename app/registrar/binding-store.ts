import { EventEmitter } from 'node:events'
import type { Aor } from '../identity/aor.js'
import type { SipUri } from '../sip/uri.js'
import { hostKey, unescapeSip, uriEquals } from '../sip/uri.js'
import type { Destination } from '../sip/transaction/destination.js'

/** One contact bound to an AOR (RFC 3261 §10.3). */
export interface Binding {
  aor: Aor
  /** The contact URI exactly as registered (parameters and escapes kept). */
  contact: string
  contactUri: SipUri
  q: number | null
  expiresAt: number
  callId: string
  cseq: number
  /**
   * How to reach the registering UA: the flow (TCP/WS) or source address (UDP)
   * its REGISTER came from, so phones behind NAT or on WebSocket stay reachable
   * (the "received"/flow-token approach of RFC 5626).
   */
  path: Destination
}

export interface BindingStoreEvents {
  /** An AOR got its first live binding. */
  'aor-added': [Aor]
  /** An AOR lost its last binding (removed or expired). */
  'aor-removed': [Aor]
}

/**
 * Live bindings per AOR, expired by a sweep. Bounded: at most `maxAors` AORs
 * and `maxPerAor` bindings each; the registrar refuses beyond that.
 */
export class BindingStore extends EventEmitter<BindingStoreEvents> {
  private readonly byAor = new Map<Aor, Binding[]>()
  /** Contact user@host:port → binding, to route in-dialog requests whose Request-URI is a contact. */
  private readonly byContact = new Map<string, Binding>()
  private sweeper: NodeJS.Timeout | null = null

  constructor(
    readonly limits = { maxAors: 100_000, maxPerAor: 16 },
    private readonly now: () => number = Date.now
  ) {
    super()
  }

  start(sweepMs = 1000): void {
    this.sweeper ??= setInterval(() => this.sweep(), sweepMs)
    this.sweeper.unref()
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = null
  }

  get aorCount(): number {
    return this.byAor.size
  }

  lookup(aor: Aor): Binding[] {
    const now = this.now()
    return (this.byAor.get(aor) ?? []).filter((b) => b.expiresAt > now)
  }

  find(aor: Aor, contactUri: SipUri): Binding | undefined {
    return this.lookup(aor).find((b) => uriEquals(b.contactUri, contactUri))
  }

  /** The live binding whose contact is `uri` (user, host and port compared), if any. */
  findByContact(uri: SipUri): Binding | undefined {
    const b = this.byContact.get(contactKey(uri))
    return b && b.expiresAt > this.now() ? b : undefined
  }

  /** Add or refresh a binding (matched by URI equality, §10.3 step 7). */
  put(binding: Binding): void {
    const list = this.byAor.get(binding.aor) ?? []
    const i = list.findIndex((b) => uriEquals(b.contactUri, binding.contactUri))
    if (i === -1) list.push(binding)
    else list[i] = binding
    this.byContact.set(contactKey(binding.contactUri), binding)
    const isNew = !this.byAor.has(binding.aor)
    this.byAor.set(binding.aor, list)
    if (isNew) this.emit('aor-added', binding.aor)
  }

  remove(aor: Aor, contactUri?: SipUri): void {
    const list = this.byAor.get(aor)
    if (!list) return
    const rest = contactUri ? list.filter((b) => !uriEquals(b.contactUri, contactUri)) : []
    this.replace(aor, rest)
  }

  sweep(): void {
    const now = this.now()
    for (const [aor, list] of this.byAor) {
      const live = list.filter((b) => b.expiresAt > now)
      if (live.length !== list.length) this.replace(aor, live)
    }
  }

  private replace(aor: Aor, list: Binding[]): void {
    for (const old of this.byAor.get(aor) ?? []) {
      const key = contactKey(old.contactUri)
      if (!list.includes(old) && this.byContact.get(key) === old) this.byContact.delete(key)
    }
    if (list.length) {
      this.byAor.set(aor, list)
      return
    }
    if (this.byAor.delete(aor)) this.emit('aor-removed', aor)
  }

  aors(): Aor[] {
    return [...this.byAor.keys()]
  }
}

function contactKey(uri: SipUri): string {
  return `${unescapeSip(uri.user ?? '')}@${hostKey(uri.host)}:${uri.port ?? ''}`
}
