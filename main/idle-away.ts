import type { PresenceStatus } from '../app/api/contract.js'

export type IdleAwayEvent = 'lock-screen' | 'unlock-screen' | 'suspend' | 'resume' | 'user-activity'

export interface IdleAwayOptions {
  /** The user's status when the policy starts. */
  status: PresenceStatus
  /** Publishes a status; the policy calls it only for its own away and restore. */
  setPresence: (status: PresenceStatus) => void | Promise<void>
  /** Seconds without input before going away; 5 minutes by default. */
  thresholdS?: number
  /** A failed publish is reported here; the policy keeps its decision. */
  onError?: (err: unknown) => void
}

/**
 * Automatic away, the way desktop softphones do it: only ever over `available`.
 *
 *   user's status ──(idle ≥ threshold | screen locked | suspended, status available)──► auto-away
 *   auto-away ──(no reason left: input again, unlock)──► restore the status it replaced
 *   auto-away ──(the user picks any status, even away)──► that status; nothing is restored
 *
 * Busy, offline and an away chosen by hand are the user's word and are never
 * overridden. Only the user's own changes must be reported (`userChangedStatus`);
 * the policy knows which ones it made itself.
 */
export class IdleAwayPolicy {
  readonly thresholdS: number
  #status: PresenceStatus
  #restoreTo: PresenceStatus | null = null
  #idle = false
  #locked = false
  #suspended = false
  readonly #setPresence: IdleAwayOptions['setPresence']
  readonly #onError: (err: unknown) => void

  constructor(opts: IdleAwayOptions) {
    this.#status = opts.status
    this.#setPresence = opts.setPresence
    this.thresholdS = opts.thresholdS ?? 300
    this.#onError = opts.onError ?? (() => {})
  }

  /** The status as the policy last saw or set it. */
  get status(): PresenceStatus {
    return this.#status
  }

  /** True while the status is an away the policy set and will undo. */
  get autoAway(): boolean {
    return this.#restoreTo !== null
  }

  /**
   * The user chose a status (window or tray): it wins, and cancels any pending
   * restore. Choosing one is input, so it is not turned into away on the spot.
   */
  userChangedStatus(status: PresenceStatus): void {
    this.#status = status
    this.#restoreTo = null
    this.#idle = false
    this.#update()
  }

  /** Seconds since the last input (`powerMonitor.getSystemIdleTime()`), polled. */
  tick(idleSeconds: number): void {
    this.#idle = idleSeconds >= this.thresholdS
    this.#update()
  }

  event(event: IdleAwayEvent): void {
    switch (event) {
      case 'lock-screen':
        this.#locked = true
        break
      case 'unlock-screen':
        // Unlocking takes a password: the user is back whatever the idle counter says.
        this.#locked = false
        this.#idle = false
        break
      case 'suspend':
        this.#suspended = true
        break
      case 'resume':
        // The machine slept, so the user was away until input proves otherwise
        // (the next tick with a small idle time, or an unlock if the screen was locked).
        this.#suspended = false
        this.#idle = true
        break
      case 'user-activity':
        this.#idle = false
        break
    }
    this.#update()
  }

  #update(): void {
    const away = this.#idle || this.#locked || this.#suspended
    if (away && this.#restoreTo === null && this.#status === 'available') {
      this.#restoreTo = this.#status
      this.#publish('away')
    } else if (!away && this.#restoreTo !== null) {
      const previous = this.#restoreTo
      this.#restoreTo = null
      this.#publish(previous)
    }
  }

  #publish(status: PresenceStatus): void {
    this.#status = status
    try {
      void Promise.resolve(this.#setPresence(status)).catch(this.#onError)
    } catch (err) {
      this.#onError(err)
    }
  }
}

/** The parts of Electron's `powerMonitor` the policy listens to. */
export interface PowerMonitorLike {
  getSystemIdleTime(): number
  on(event: 'lock-screen' | 'unlock-screen' | 'suspend' | 'resume' | 'user-did-become-active', listener: () => void): unknown
  removeListener(event: 'lock-screen' | 'unlock-screen' | 'suspend' | 'resume' | 'user-did-become-active', listener: () => void): unknown
}

export interface IdleWatch {
  stop(): void
}

/**
 * Feed a policy from the power monitor: idle time polled (Electron has no idle
 * event on Linux and Windows), lock and sleep as they happen. macOS's
 * `user-did-become-active` (fast user switching back) counts as input.
 */
export function watchIdle(policy: IdleAwayPolicy, powerMonitor: PowerMonitorLike, opts: { intervalMs?: number } = {}): IdleWatch {
  const listeners = [
    ['lock-screen', () => policy.event('lock-screen')],
    ['unlock-screen', () => policy.event('unlock-screen')],
    ['suspend', () => policy.event('suspend')],
    ['resume', () => policy.event('resume')],
    ['user-did-become-active', () => policy.event('user-activity')]
  ] as const
  for (const [event, listener] of listeners) powerMonitor.on(event, listener)
  const timer = setInterval(() => policy.tick(powerMonitor.getSystemIdleTime()), opts.intervalMs ?? 15_000)
  timer.unref?.()
  return {
    stop() {
      clearInterval(timer)
      for (const [event, listener] of listeners) powerMonitor.removeListener(event, listener)
    }
  }
}
