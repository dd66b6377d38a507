import { createSocket, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { isIPv6 } from 'node:net'

/** What a burst of STUN Binding requests saw: the relay-selection inputs (RTT, loss). */
export interface StunProbeResult {
  /** Median round-trip time of the answered requests, null when none was answered. */
  rttMs: number | null
  /** Fraction of requests left unanswered, 0..1. */
  loss: number
  sent: number
  received: number
}

export interface StunProbeOptions {
  count?: number
  intervalMs?: number
  /** How long to wait for answers after the last request. */
  timeoutMs?: number
}

// RFC 5389 §6: every STUN message starts with a 20-byte header carrying this cookie.
const MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const BINDING_ERROR = 0x0111
const HEADER_BYTES = 20

function bindingRequest(transactionId: Buffer): Buffer {
  const msg = Buffer.alloc(HEADER_BYTES)
  msg.writeUInt16BE(BINDING_REQUEST, 0)
  msg.writeUInt16BE(0, 2) // no attributes
  msg.writeUInt32BE(MAGIC_COOKIE, 4)
  transactionId.copy(msg, 8)
  return msg
}

/** The transaction id (hex) of a Binding response, or null for anything else. */
function responseTransaction(msg: Buffer): string | null {
  if (msg.length < HEADER_BYTES || msg.readUInt32BE(4) !== MAGIC_COOKIE) return null
  const type = msg.readUInt16BE(0)
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) return null
  return msg.subarray(8, HEADER_BYTES).toString('hex')
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Sends `count` STUN Binding requests (RFC 5389 §7.1) from one UDP socket,
 * `intervalMs` apart, and matches answers by transaction id. Unreachable or
 * unresolvable hosts are not errors: they are loss 1.
 */
export async function probeStun(host: string, port: number, opts: StunProbeOptions = {}): Promise<StunProbeResult> {
  const { count = 5, intervalMs = 50, timeoutMs = 1000 } = opts
  const pending = new Map<string, number>()
  const rtts: number[] = []
  let sent = 0
  let socket: Socket
  try {
    socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4')
  } catch {
    return { rttMs: null, loss: 1, sent: 0, received: 0 }
  }
  let allAnswered: () => void = () => {}
  const answered = new Promise<void>((resolve) => (allAnswered = resolve))
  socket.on('error', () => {}) // e.g. ECONNREFUSED echoes: the request just stays unanswered
  socket.on('message', (msg) => {
    const tid = responseTransaction(msg)
    const t0 = tid === null ? undefined : pending.get(tid)
    if (tid === null || t0 === undefined) return
    pending.delete(tid)
    rtts.push(performance.now() - t0)
    if (rtts.length === count) allAnswered()
  })
  try {
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(intervalMs)
      const tid = randomBytes(12)
      pending.set(tid.toString('hex'), performance.now())
      sent++
      try {
        socket.send(bindingRequest(tid), port, host, () => {}) // asynchronous send errors surface as loss
      } catch {
        // a port out of range: nothing can answer
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
  } finally {
    try {
      socket.close()
    } catch {
      // already closed
    }
  }
  const received = rtts.length
  return { rttMs: median(rtts), loss: sent === 0 ? 1 : (sent - received) / sent, sent, received }
}
