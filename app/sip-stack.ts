import type { Logger } from 'pino'
import { aorHost, type Aor } from './identity/aor.js'
import { AccountStore } from './registrar/account-store.js'
import { BindingStore } from './registrar/binding-store.js'
import { DIGEST_POLICIES, Registrar, type DigestPolicy, type ExpiresPolicy } from './registrar/registrar.js'
import { SipCore, type LocalHandler, type PeerHealth } from './sip/sip-core.js'
import { TransactionLayer } from './sip/transaction/transaction-layer.js'
import { DEFAULT_SIP_TIMERS, type SipTimers } from './sip/transaction/timers.js'
import { LocalAddresses } from './sip/proxy/local-addresses.js'
import { TargetResolver, type HostTarget, type TargetResolverDeps } from './sip/proxy/target-resolver.js'
import { dnsResolveHost } from './sip/proxy/dns-resolver.js'
import type { SipUri } from './sip/uri.js'
import type { SipFlow, SipTransport } from './sip/transport.js'
import { UdpTransport } from './sip/transports/udp-transport.js'
import { TcpTransport } from './sip/transports/tcp-transport.js'
import { WsTransport } from './sip/transports/ws-transport.js'
import { SourceRateLimiter } from './sip/transports/rate-limiter.js'
import { LoopbackFlow } from './sip/loopback-flow.js'

export interface SipOptions {
  /** Bind address for the SIP transports; 127.0.0.1 unless said otherwise. */
  host?: string
  /** Ports; undefined leaves a transport off, 0 picks a free port. */
  udp?: number
  tcp?: number
  ws?: number
  /** 'digest' (default): phones need an account (`parley accounts add`). 'off': an open registrar. */
  auth?: 'digest' | 'off'
  /** Which digest challenge comes first (both are offered and accepted). */
  digest?: DigestPolicy
  /** Domains whose REGISTERs this peer answers besides account domains and its own addresses. */
  domains?: string[]
  /** RFC 3263 DNS resolution for other domains (default on); or a resolver of one's own (tests). */
  dns?: boolean | ((uri: SipUri) => Promise<HostTarget[]>)
  timers?: Partial<SipTimers>
  expires?: Partial<ExpiresPolicy>
  /**
   * Per-source flood limit (messages/s and burst; IPv4 address or IPv6 /64).
   * A phone sends a few messages a second; the default leaves room for a NAT
   * full of them. `false` turns it off (benchmarks against registrars without one).
   */
  rateLimit?: { ratePerSecond?: number; burst?: number } | false
}

export const DEFAULT_RATE_LIMIT = { ratePerSecond: 2000, burst: 4000 }

export interface SipStackDeps {
  dataDir: string
  publicKey: Buffer
  localAors: () => Aor[]
  doNotDisturb?: () => boolean
  overlayLookup: ((aor: Aor) => Promise<Buffer[]>) | null
  flowTo: (publicKey: Buffer) => Promise<SipFlow>
  /** Plain SIP UAs found on the LAN for an AOR (`TargetResolverDeps.lanPhones`). */
  lanPhones?: TargetResolverDeps['lanPhones']
  local: LocalHandler
  /** The peer's side of the health OPTIONS answers with (the registrar count is the stack's own). */
  health?: () => Omit<PeerHealth, 'registrations'>
  log: Logger
}

/** Flows from the peer's own UI: they may bind the peer's own AORs without credentials. */
const ownUiFlows = new WeakSet<SipFlow>()

/**
 * The peer's SIP side: transports, transactions, registrar (with the accounts
 * of local phones) and proxy, wired into one SipCore.
 */
export class SipStack {
  private closing: Promise<void> | null = null

  private constructor(
    readonly core: SipCore,
    readonly layer: TransactionLayer,
    readonly bindings: BindingStore,
    readonly accounts: AccountStore | null,
    readonly transports: SipTransport[],
    readonly addresses: LocalAddresses
  ) {}

  static async start(opts: SipOptions, deps: SipStackDeps): Promise<SipStack> {
    const host = opts.host ?? '127.0.0.1'
    const log = deps.log
    const limiter = new SourceRateLimiter(
      opts.rateLimit === false ? { ratePerSecond: Number.MAX_SAFE_INTEGER, burst: Number.MAX_SAFE_INTEGER } : { ...DEFAULT_RATE_LIMIT, ...opts.rateLimit }
    )
    const transports: SipTransport[] = []
    try {
      if (opts.udp !== undefined) transports.push(await UdpTransport.listen({ host, port: opts.udp, log, rateLimit: limiter }))
      if (opts.tcp !== undefined) transports.push(await TcpTransport.listen({ host, port: opts.tcp, log, rateLimit: limiter }))
      if (opts.ws !== undefined) transports.push(await WsTransport.listen({ host, port: opts.ws, log, rateLimit: limiter }))
    } catch (err) {
      await Promise.all(transports.map((t) => t.close()))
      throw err
    }
    const accounts = opts.auth === 'off' ? null : await AccountStore.open(deps.dataDir, { onCorrupt: 'keep-last-good', log })
    const bindings = new BindingStore()
    bindings.start()
    const addresses = new LocalAddresses(deps.publicKey, transports)
    const layer = new TransactionLayer({ ...DEFAULT_SIP_TIMERS, ...opts.timers }, log)
    const resolveHost = typeof opts.dns === 'function' ? opts.dns : opts.dns === false ? null : dnsResolveHost()
    const targets = new TargetResolver({
      addresses,
      bindings,
      localAors: deps.localAors,
      doNotDisturb: deps.doNotDisturb,
      overlayLookup: deps.overlayLookup,
      ownKey: deps.publicKey,
      flowTo: deps.flowTo,
      lanPhones: deps.lanPhones,
      resolveHost,
      log
    })
    const algorithms = DIGEST_POLICIES[opts.digest ?? 'md5']
    const registrar = new Registrar({
      bindings,
      accounts,
      expires: opts.expires,
      algorithms,
      log,
      own: { aors: deps.localAors, isOwnUi: (path) => path.kind === 'flow' && ownUiFlows.has(path.flow) }
    })
    const domains = new Set((opts.domains ?? []).map((d) => d.toLowerCase()))
    // The own user's UI registers in its AOR's domain (JsSIP's default registrar).
    const ownDomains = () => new Set(deps.localAors().map((a) => aorHost(a).toLowerCase()))
    const core = new SipCore({
      layer,
      addresses,
      targets,
      registrar,
      registrarDomains: (host) => domains.has(host) || ownDomains().has(host) || (accounts?.realms().has(host) ?? false),
      local: deps.local,
      flowTo: deps.flowTo,
      health: deps.health && (() => ({ ...deps.health!(), registrations: bindings.aorCount })),
      log
    })
    for (const t of transports) core.attachTransport(t)
    return new SipStack(core, layer, bindings, accounts, transports, addresses)
  }

  private loop: SipFlow | null = null

  /** Attach a flow from the peer's own UI (web mode's `/sip` socket, Electron's IPC socket). */
  attachOwnUi(flow: SipFlow): void {
    ownUiFlows.add(flow)
    this.core.attachFlow(flow)
  }

  /** The in-memory flow into this peer's own proxy, made once (each pair stays attached to the core). */
  loopback(): SipFlow {
    if (!this.loop) {
      const [mine, theirs] = LoopbackFlow.pair(Buffer.alloc(32))
      // Both ends feed the core: requests arrive on theirs, the responses to them on mine.
      this.core.attachFlow(theirs)
      this.core.attachFlow(mine)
      this.loop = mine
    }
    return this.loop
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.bindings.stop()
      this.layer.closeAll()
      await Promise.all(this.transports.map((t) => t.close()))
    })()
    return this.closing
  }
}
