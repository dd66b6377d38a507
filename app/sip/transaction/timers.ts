/** RFC 3261 §17.1.1.1 and Table 4 timer values; tests shorten them. */
export interface SipTimers {
  T1: number
  T2: number
  T4: number
}

export const DEFAULT_SIP_TIMERS: SipTimers = { T1: 500, T2: 4000, T4: 5000 }
