import { randomBytes } from 'node:crypto'
import { UdpEndpoint } from './udp-endpoint.js'
import { SipRequest, SipResponse, createResponse, type SipMessage } from '../../app/sip/message.js'
import { digestResponse, ha1 } from '../../app/sip/digest-auth.js'

const rand = () => randomBytes(6).toString('hex')

/**
 * A minimal SIP user agent over UDP on 127.0.0.1 for tests: it builds requests,
 * answers digest challenges, and awaits responses and incoming requests.
 */
export class TestUa {
  private cseq = 0
  readonly callId = `${rand()}@test`
  readonly tag = rand()

  private constructor(
    readonly endpoint: UdpEndpoint,
    readonly aor: string,
    readonly proxyPort: number
  ) {}

  static async open(aor: string, proxyPort: number): Promise<TestUa> {
    return new TestUa(await UdpEndpoint.open(), aor, proxyPort)
  }

  get contact(): string {
    return `sip:${this.aor.slice(4, this.aor.indexOf('@'))}@127.0.0.1:${this.endpoint.port}`
  }

  request(method: string, uri: string, opts: { to?: string; headers?: Array<[string, string]>; body?: string; callId?: string; cseq?: number } = {}): SipRequest {
    const r = new SipRequest(method, uri)
    r.append('Via', `SIP/2.0/UDP 127.0.0.1:${this.endpoint.port};branch=z9hG4bK${rand()};rport`)
    r.append('Max-Forwards', '70')
    r.append('From', `<${this.aor}>;tag=${this.tag}`)
    r.append('To', opts.to ?? `<${uri}>`)
    r.append('Call-ID', opts.callId ?? this.callId)
    r.append('CSeq', `${opts.cseq ?? ++this.cseq} ${method}`)
    r.append('Contact', `<${this.contact}>`)
    for (const [n, v] of opts.headers ?? []) r.append(n, v)
    if (opts.body !== undefined) r.body = Buffer.from(opts.body)
    return r
  }

  /**
   * Send a request and wait for its final response (or the first response with
   * status ≥ min), retransmitting every 500 ms like a UDP client (§17.1.2.2),
   * since a datagram can be lost when the receiver's socket buffer overflows.
   */
  async send(req: SipRequest, minStatus = 200): Promise<SipResponse> {
    const branch = req.topBranch
    const method = req.method === 'ACK' ? 'INVITE' : req.method
    const reply = this.endpoint.next((m) => m instanceof SipResponse && m.topBranch === branch && m.cseq?.method === method && m.status >= minStatus)
    const wire = req.serialize()
    await this.endpoint.send(wire, this.proxyPort)
    let answered = false
    const timer = setInterval(() => {
      if (!answered) void this.endpoint.send(wire, this.proxyPort).catch(() => {})
    }, 500)
    try {
      return (await reply) as SipResponse
    } finally {
      answered = true
      clearInterval(timer)
    }
  }

  /** REGISTER, answering one digest challenge when credentials are given; `wildcard` removes every binding (Contact: *, RFC 3261 §10.2.2). */
  async register(opts: { password?: string; username?: string; expires?: number; wildcard?: boolean } = {}): Promise<SipResponse> {
    const registrar = `sip:${this.aor.slice(this.aor.indexOf('@') + 1)}`
    const build = () => {
      const r = this.request('REGISTER', registrar, { to: `<${this.aor}>`, headers: [['Expires', String(opts.expires ?? 600)]] })
      return opts.wildcard ? r.set('Contact', '*') : r
    }
    const first = await this.send(build())
    if (first.status !== 401 || opts.password === undefined) return first
    const challenge = first.get('WWW-Authenticate') ?? ''
    const field = (k: string) => new RegExp(`${k}="?([^",]+)"?`, 'i').exec(challenge)?.[1] ?? ''
    const algorithm = field('algorithm') === 'SHA-256' ? 'SHA-256' : 'MD5'
    const realm = field('realm')
    const nonce = field('nonce')
    const username = opts.username ?? this.aor.slice(4, this.aor.indexOf('@'))
    const cnonce = rand()
    const response = digestResponse({ algorithm, ha1: ha1(algorithm, username, realm, opts.password), method: 'REGISTER', uri: registrar, nonce, qop: 'auth', nc: '00000001', cnonce })
    const again = build()
    again.append('Authorization', `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${registrar}", response="${response}", algorithm=${algorithm}, qop=auth, nc=00000001, cnonce="${cnonce}"`)
    return this.send(again)
  }

  /** The next request that reaches this UA (optionally of one method). */
  incoming(method?: string): Promise<SipRequest> {
    return this.endpoint.next((m) => m instanceof SipRequest && (!method || m.method === method) && !this.answered.has(m)) as Promise<SipRequest>
  }

  private readonly answered = new Set<SipMessage>()

  /** Answer a request that reached us, back to where it came from (the proxy). */
  async reply(req: SipRequest, status: number, opts: { body?: string; headers?: Array<[string, string]> } = {}): Promise<SipResponse> {
    this.answered.add(req)
    const res = createResponse(req, status)
    for (const rr of req.getAll('Record-Route')) res.append('Record-Route', rr)
    if (status < 300 && req.method === 'INVITE') res.append('Contact', `<${this.contact}>`)
    for (const [n, v] of opts.headers ?? []) res.append(n, v)
    if (opts.body !== undefined) res.body = Buffer.from(opts.body)
    await this.endpoint.send(res.serialize(), this.proxyPort)
    return res
  }

  close(): void {
    this.endpoint.close()
  }
}
