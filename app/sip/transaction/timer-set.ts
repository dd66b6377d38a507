/** The timers of one transaction, cleared together when it changes state or ends. */
export class TimerSet {
  private timers: NodeJS.Timeout[] = []

  /** Run `fn` after `ms`; the timer never keeps the process alive. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms)
    t.unref?.()
    this.timers.push(t)
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers = []
  }
}
