import { parseArgs } from 'node:util'
import { createSocket } from 'node:dgram'
import { connect, isIP } from 'node:net'
import { lookup } from 'node:dns/promises'
import { ParleyError } from '../errors.js'
import { SipRequest, SipResponse, newBranch, newCallId, newTag, type SipMessage } from '../sip/message.js'
import { parseSipMessage } from '../sip/parser.js'
import { SipStreamFramer } from '../sip/stream-framer.js'
import { HEALTH_CONTENT_TYPE, type PeerHealth } from '../sip/sip-core.js'

/**
 * `parley check`: a Nagios plugin. One SIP OPTIONS to a peer (or any SIP
 * server), one line of output with performance data, and the plugin exit codes
 * (Nagios Plugin Development Guidelines: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 */
export const NAGIOS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const
export type NagiosState = keyof typeof NAGIOS

export const CHECK_USAGE = 'usage: parley check HOST[:PORT] [--transport udp|tcp] [--timeout MS] [--warning MS] [--critical MS]'

export interface CheckOptions {
  host: string
  port: number
  transport: 'udp' | 'tcp'
  /** Give up (CRITICAL) after this long without a final response. */
  timeoutMs: number
  /** Response times above these are WARNING / CRITICAL. */
  warningMs: number
  criticalMs: number
}

/** af() above this is a WARNING: a super-node would step down (the demote threshold, docs/relay.md). */
export const AF_WARNING = 0.6
const DEFAULT_TIMEOUT_MS = 2000
const DEFAULT_WARNING_MS = 500
const MAX_MS = 600_000
// RFC 3261 §17.1.2.2: Timer E starts at T1 and doubles up to T2 for non-INVITE requests over UDP.
const T1_MS = 500
const T2_MS = 4000

/** How the probe ended. */
export type ProbeResult =
  | { kind: 'response'; response: SipResponse; ms: number }
  | { kind: 'timeout' }
  | { kind: 'refused' }
  | { kind: 'closed' }
  | { kind: 'not-sip'; sample: string }
  | { kind: 'unresolved'; message: string }
  | { kind: 'error'; code: string }

/** Runs `parley check ARGS`; writes one line and returns the plugin's exit code. */
export async function checkCommand(args: string[], out: (line: string) => void): Promise<number> {
  let opts: CheckOptions
  try {
    opts = parseCheckArgs(args)
  } catch (err) {
    out(`PARLEY UNKNOWN - ${(err as Error).message}`)
    return NAGIOS.UNKNOWN
  }
  const { state, line } = verdict(opts, await probe(opts))
  out(line)
  return NAGIOS[state]
}

export function parseCheckArgs(args: string[]): CheckOptions {
  let parsed
  try {
    parsed = parseArgs({
      args,
      options: { transport: { type: 'string' }, timeout: { type: 'string' }, warning: { type: 'string' }, critical: { type: 'string' } },
      allowPositionals: true,
      strict: true
    })
  } catch (err) {
    throw ParleyError.USAGE(`${(err as Error).message.split(/\.\s|\n/)[0] ?? 'bad arguments'} (${CHECK_USAGE})`)
  }
  const { values, positionals } = parsed
  if (positionals.length === 0) throw ParleyError.USAGE(`HOST[:PORT] is required (${CHECK_USAGE})`)
  if (positionals.length > 1) throw ParleyError.USAGE(`check takes one HOST[:PORT], got ${positionals.length} arguments (${CHECK_USAGE})`)
  const transport = values.transport ?? 'udp'
  if (transport !== 'udp' && transport !== 'tcp') throw ParleyError.USAGE(`--transport must be udp or tcp, not ${JSON.stringify(transport)}`)
  const ms = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!/^\d+$/.test(raw) || n < min || n > MAX_MS) throw ParleyError.USAGE(`--${name} must be an integer from ${min} to ${MAX_MS} (milliseconds)`)
    return n
  }
  const critical = ms('critical', values.critical, 0)
  const timeoutMs = ms('timeout', values.timeout, 1) ?? Math.max(DEFAULT_TIMEOUT_MS, critical ?? 0)
  const criticalMs = critical ?? timeoutMs
  const warningMs = ms('warning', values.warning, 0) ?? Math.min(DEFAULT_WARNING_MS, criticalMs)
  if (warningMs > criticalMs) throw ParleyError.USAGE(`--warning (${warningMs} ms) must not exceed --critical (${criticalMs} ms)`)
  if (criticalMs > timeoutMs) throw ParleyError.USAGE(`--critical (${criticalMs} ms) must not exceed --timeout (${timeoutMs} ms)`)
  return { ...parseTarget(positionals[0] as string), transport, timeoutMs, warningMs, criticalMs }
}

/** HOST, HOST:PORT, [IPv6] or [IPv6]:PORT; a bare IPv6 address has no port. Port 5060 by default (RFC 3261 §19.1.2). */
export function parseTarget(input: string): { host: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\w*))?$/.exec(input) ?? (isIP(input) === 6 ? [input, input, undefined] : /^([A-Za-z0-9.-]+)(?::(\w*))?$/.exec(input))
  if (!m) throw ParleyError.USAGE(`not a HOST[:PORT]: ${JSON.stringify(input)}`)
  const host = m[1] as string
  const rawPort = m[2]
  if (rawPort === undefined) return { host, port: 5060 }
  const port = Number(rawPort)
  if (!/^\d{1,5}$/.test(rawPort) || port < 1 || port > 65535) throw ParleyError.USAGE(`port must be from 1 to 65535 in ${JSON.stringify(input)}`)
  return { host, port }
}

/** Sends one OPTIONS and waits for its final response, the timeout, or a transport failure. */
export async function probe(opts: CheckOptions): Promise<ProbeResult> {
  const deadline = Date.now() + opts.timeoutMs
  let address: string
  try {
    address = isIP(opts.host) ? opts.host : (await lookup(opts.host)).address
  } catch (err) {
    return { kind: 'unresolved', message: `cannot resolve ${opts.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }
  }
  const remaining = Math.max(1, deadline - Date.now())
  return opts.transport === 'udp' ? probeUdp(address, opts.port, remaining) : probeTcp(address, opts.port, remaining)
}

/** One probe's plumbing: the OPTIONS to send, and the answer that settles it. */
class Exchange {
  readonly request: SipRequest
  private readonly branch = newBranch()
  private sentAt = 0
  private settle!: (r: ProbeResult) => void
  readonly result: Promise<ProbeResult>

  constructor(transport: 'UDP' | 'TCP', local: { address: string; port: number }, remote: { address: string; port: number }, timeoutMs: number) {
    const host = (a: string) => (isIP(a) === 6 ? `[${a}]` : a)
    const uri = `sip:${host(remote.address)}:${remote.port}${transport === 'TCP' ? ';transport=tcp' : ''}`
    // §8.1.1 and §11: the mandatory headers of a request outside a dialog; rport (RFC 3581) for NATs between.
    this.request = new SipRequest('OPTIONS', uri)
      .append('Via', `SIP/2.0/${transport} ${host(local.address)}:${local.port};branch=${this.branch};rport`)
      .append('Max-Forwards', '70')
      .append('From', `<sip:parley-check@${host(local.address)}>;tag=${newTag()}`)
      .append('To', `<${uri}>`)
      .append('Call-ID', newCallId())
      .append('CSeq', '1 OPTIONS')
      .append('Accept', `${HEALTH_CONTENT_TYPE}, application/sdp`)
      .append('User-Agent', 'parley-check')
    let timer: NodeJS.Timeout | undefined
    this.result = new Promise<ProbeResult>((resolve) => {
      this.settle = resolve
      timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs)
    }).finally(() => clearTimeout(timer))
  }

  wire(): Buffer {
    this.sentAt ||= performance.now()
    return this.request.serialize()
  }

  /** A message from the target: our final response settles; provisional and stray SIP messages are ignored. */
  onMessage(message: SipMessage): void {
    if (!(message instanceof SipResponse) || message.topBranch !== this.branch || message.cseq?.method !== 'OPTIONS') return
    if (message.status >= 200) this.settle({ kind: 'response', response: message, ms: performance.now() - this.sentAt })
  }

  notSip(data: Buffer): void {
    const first = data.toString('latin1').replace(/^(\r\n)+/, '').split(/\r?\n/)[0] ?? ''
    this.settle({ kind: 'not-sip', sample: first.length > 40 ? first.slice(0, 40) + '…' : first })
  }

  failed(err: NodeJS.ErrnoException): void {
    this.settle(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: err.code ?? err.message })
  }

  end(result: ProbeResult): void {
    this.settle(result)
  }
}

/** A stream or datagram that cannot begin a SIP response (after CRLF keep-alives). */
function notSipStart(data: Buffer): boolean {
  const text = data.toString('latin1').replace(/^(\r\n)+/, '')
  const n = Math.min(text.length, 4)
  return n > 0 && text.slice(0, n) !== 'SIP/'.slice(0, n)
}

async function probeUdp(address: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4')
  try {
    // A connected socket sees only the target's datagrams, and ICMP port unreachable as ECONNREFUSED.
    const connected = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      socket.once('error', resolve)
      socket.connect(port, address, () => {
        socket.off('error', resolve)
        resolve(null)
      })
    })
    if (connected) return connected.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: connected.code ?? connected.message }
    const ex = new Exchange('UDP', socket.address(), { address, port }, timeoutMs)
    socket.on('error', (err) => ex.failed(err))
    socket.on('message', (data) => {
      if (/^(\r\n)*$/.test(data.toString('latin1'))) return // a keep-alive (RFC 5626 §4.4.1)
      let message: SipMessage
      try {
        if (notSipStart(data)) throw new Error('not SIP')
        message = parseSipMessage(data)
      } catch {
        return ex.notSip(data)
      }
      ex.onMessage(message)
    })
    const send = () => socket.send(ex.wire(), (err) => err && ex.failed(err))
    let interval = T1_MS
    let retransmit: NodeJS.Timeout | undefined
    const again = () => {
      retransmit = setTimeout(() => {
        send()
        interval = Math.min(interval * 2, T2_MS)
        again()
      }, interval)
    }
    send()
    again()
    return await ex.result.finally(() => clearTimeout(retransmit))
  } finally {
    socket.close()
  }
}

async function probeTcp(address: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs
  const socket = connect({ host: address, port })
  try {
    const connected = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const timer = setTimeout(() => resolve(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs)
      const done = (err: NodeJS.ErrnoException | null) => {
        clearTimeout(timer)
        resolve(err)
      }
      socket.once('error', done)
      socket.once('connect', () => done(null))
    })
    if (connected?.code === 'ETIMEDOUT') return { kind: 'timeout' }
    if (connected) return connected.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: connected.code ?? connected.message }
    const local = { address: socket.localAddress ?? '127.0.0.1', port: socket.localPort ?? 0 }
    const ex = new Exchange('TCP', local, { address, port }, Math.max(1, deadline - Date.now()))
    const framer = new SipStreamFramer()
    let head = Buffer.alloc(0)
    framer.on('message', (m) => ex.onMessage(m))
    framer.on('error', () => ex.notSip(head))
    socket.on('data', (chunk: Buffer) => {
      if (head.length < 80) head = Buffer.concat([head, chunk]).subarray(0, 80)
      if (notSipStart(head)) return ex.notSip(head)
      framer.push(chunk)
    })
    socket.on('error', (err) => ex.failed(err))
    socket.on('close', () => ex.end({ kind: 'closed' }))
    socket.write(ex.wire())
    return await ex.result
  } finally {
    socket.destroy()
  }
}

/** The plugin's state and its one line (text | perfdata) for a probe's result. */
export function verdict(opts: CheckOptions, result: ProbeResult): { state: NagiosState; line: string } {
  const target = `${isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host}:${opts.port}`
  const where = `${target}/${opts.transport}`
  const line = (state: NagiosState, text: string, perf: string[] = []) => ({ state, line: `PARLEY ${state} - ${text}${perf.length ? ` | ${perf.join(' ')}` : ''}` })
  switch (result.kind) {
    case 'timeout':
      return line('CRITICAL', `no answer from ${where} within ${opts.timeoutMs} ms`)
    case 'refused':
      return line('CRITICAL', `connection refused by ${where}`)
    case 'closed':
      return line('CRITICAL', `${where} closed the connection without answering`)
    case 'error':
      return line('CRITICAL', `cannot reach ${where}: ${result.code}`)
    case 'unresolved':
      return line('UNKNOWN', result.message)
    case 'not-sip':
      return line('UNKNOWN', `${target} answered something that is not SIP (${JSON.stringify(result.sample)})`)
  }
  const { response, ms } = result
  const seconds = (n: number) => (n / 1000).toFixed(3)
  const perf = [`time=${seconds(ms)}s;${seconds(opts.warningMs)};${seconds(opts.criticalMs)};0`]
  let state: NagiosState = response.status < 300 ? 'OK' : response.status < 500 ? 'WARNING' : 'CRITICAL'
  const worse = (s: NagiosState) => {
    if (NAGIOS[s] > NAGIOS[state]) state = s
  }
  let text = `${response.status} ${response.reason} in ${Math.round(ms)} ms`
  if (ms > opts.criticalMs) {
    worse('CRITICAL')
    text += ` > ${opts.criticalMs} ms`
  } else if (ms > opts.warningMs) {
    worse('WARNING')
    text += ` > ${opts.warningMs} ms`
  }
  const health = response.status < 300 ? healthOf(response) : null
  if (health) {
    text += `, ${health.role}, ${health.registrations} registration${health.registrations === 1 ? '' : 's'}`
    if (health.role === 'stepping-down') worse('WARNING')
    if (health.af > AF_WARNING) {
      worse('WARNING')
      text += `, af ${health.af.toFixed(2)} > ${AF_WARNING}`
    }
    perf.push(`registrations=${health.registrations};;;0`, `af=${health.af.toFixed(2)};${AF_WARNING};;0;1`, `uptime=${health.uptimeS}s;;;0`)
  }
  return line(state, text, perf)
}

/** The health body of a Parley peer's 200, or null (another SIP server, or a body we cannot read). */
function healthOf(response: SipResponse): PeerHealth | null {
  if ((response.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() !== HEALTH_CONTENT_TYPE) return null
  try {
    const h = JSON.parse(response.body.toString('utf8')) as Partial<PeerHealth>
    const roles = ['client', 'super-node', 'stepping-down']
    if (!roles.includes(h.role as string) || !Number.isInteger(h.registrations) || typeof h.af !== 'number' || !Number.isFinite(h.af)) return null
    return { role: h.role as PeerHealth['role'], registrations: h.registrations as number, af: h.af, uptimeS: Number.isInteger(h.uptimeS) ? (h.uptimeS as number) : 0 }
  } catch {
    return null
  }
}
