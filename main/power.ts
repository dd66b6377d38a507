/** The parts of Electron's `powerMonitor` used here (an EventEmitter). */
export interface PowerMonitorEvents {
  on(event: 'suspend' | 'resume', listener: () => void): unknown
  removeListener(event: 'suspend' | 'resume', listener: () => void): unknown
}

/** Electron's `powerSaveBlocker`. */
export interface PowerSaveBlockerLike {
  start(type: 'prevent-app-suspension' | 'prevent-display-sleep'): number
  stop(id: number): boolean
  isStarted(id: number): boolean
}

export interface SetupPowerOptions {
  powerMonitor: PowerMonitorEvents
  powerSaveBlocker: PowerSaveBlockerLike
  /** The machine is going to sleep: pause the peer (`peer.suspend()`). */
  suspend: () => Promise<void>
  /** Awake again: resume the peer and announce its registrations now (`peer.resume()`). */
  resume: () => Promise<void>
  /**
   * After resume, whatever the peer managed: the renderer restarts ICE on every
   * call (`RTCPeerConnection.restartIce()`), since the network may have changed.
   */
  onResumed: () => void
  onError?: (err: unknown) => void
}

export interface PowerHandle {
  /** A call became active (ringing counts: the user expects it to keep ringing). */
  callStarted(callId: string): void
  callEnded(callId: string): void
  /** The whole set at once, e.g. from the renderer's call list. */
  setActiveCalls(callIds: Iterable<string>): void
  /** Resolves when the suspend/resume work started so far has finished. */
  settled(): Promise<void>
  /** Remove listeners and release the blocker (quit). */
  stop(): void
}

/**
 * Sleep and wake for the peer, and no sleep during a call.
 *
 *   awake ──suspend──► peer paused ──resume──► peer resumed, registrations
 *                                              announced again ──► renderer: restart ICE
 *
 * Suspend and resume run one after the other, in the order the OS reported them:
 * a resume arriving while the suspend is still being handled waits for it. The
 * screen lock is not a reason to leave the overlay (calls still ring on a locked
 * machine); it only matters for presence (idle-away.ts).
 *
 * During a call, `prevent-app-suspension` keeps the system from sleeping on
 * idle — a listener on a call touches neither mouse nor keyboard — but lets the
 * display sleep.
 */
export function setupPower(opts: SetupPowerOptions): PowerHandle {
  const onError = opts.onError ?? (() => {})
  let chain: Promise<void> = Promise.resolve()
  const run = (step: () => Promise<void> | void) => {
    chain = chain.then(step).catch(onError)
  }

  const onSuspend = () => run(() => opts.suspend())
  const onResume = () =>
    run(async () => {
      try {
        await opts.resume()
      } finally {
        opts.onResumed()
      }
    })
  opts.powerMonitor.on('suspend', onSuspend)
  opts.powerMonitor.on('resume', onResume)

  const calls = new Set<string>()
  let blocker: number | null = null
  const applyBlocker = () => {
    if (calls.size > 0 && blocker === null) {
      blocker = opts.powerSaveBlocker.start('prevent-app-suspension')
    } else if (calls.size === 0 && blocker !== null) {
      if (opts.powerSaveBlocker.isStarted(blocker)) opts.powerSaveBlocker.stop(blocker)
      blocker = null
    }
  }

  return {
    callStarted(callId) {
      calls.add(callId)
      applyBlocker()
    },
    callEnded(callId) {
      calls.delete(callId)
      applyBlocker()
    },
    setActiveCalls(callIds) {
      calls.clear()
      for (const id of callIds) calls.add(id)
      applyBlocker()
    },
    settled: () => chain,
    stop() {
      opts.powerMonitor.removeListener('suspend', onSuspend)
      opts.powerMonitor.removeListener('resume', onResume)
      calls.clear()
      applyBlocker()
    }
  }
}
