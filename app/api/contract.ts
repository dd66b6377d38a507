import { z } from 'zod'

/**
 * The contract between a UI (or the CLI) and its peer, declared once: every
 * request with its parameters and result, and every event the peer pushes.
 * Transports carry it unchanged — the CLI's control socket, the WebSocket
 * bridge of web mode, Electron's IPC — and all of them validate with these
 * schemas, so an invalid payload is refused with an error naming the field.
 *
 * This file is imported by the renderer too: it must stay free of Node APIs.
 */

const AorText = z.string().min(1).max(512)
const HexKey = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex')
const Empty = z.object({}).strict()

// ── Shared shapes ───────────────────────────────────────────────────────────

export const PresenceStatus = z.enum(['available', 'away', 'busy', 'offline'])
export type PresenceStatus = z.infer<typeof PresenceStatus>

export const Presence = z.object({
  status: PresenceStatus,
  note: z.string().max(256).nullable()
})
export type Presence = z.infer<typeof Presence>

export const Identity = z.object({
  aor: z.string().nullable(),
  displayName: z.string().nullable(),
  publicKey: z.string().nullable(),
  fingerprint: z.string().nullable(),
  /** 'setup': no AOR yet, the first-run view; 'running': the peer is up. */
  state: z.enum(['setup', 'starting', 'running', 'failed'])
})
export type Identity = z.infer<typeof Identity>

/** How a buddy's announced key relates to the one pinned on first contact. */
export const BuddyIdentity = z.object({
  state: z.enum(['unknown', 'pinned', 'changed']),
  publicKey: z.string().nullable(),
  fingerprint: z.string().nullable(),
  /** When `changed`: the new key the overlay shows; the user must acknowledge it. */
  offeredKey: z.string().nullable(),
  offeredFingerprint: z.string().nullable()
})

export const Buddy = z.object({
  aor: z.string(),
  displayName: z.string().nullable(),
  presence: PresenceStatus,
  note: z.string().nullable(),
  presenceUpdatedAt: z.string().nullable(),
  identity: BuddyIdentity,
  unread: z.number().int().nonnegative()
})
export type Buddy = z.infer<typeof Buddy>

export const ChatMessage = z.object({
  id: z.string(),
  direction: z.enum(['in', 'out']),
  /** The other party of the conversation. */
  peer: z.string(),
  from: z.string(),
  fromName: z.string().nullable(),
  to: z.string(),
  text: z.string(),
  at: z.string(),
  /** `stored`: the recipient was offline; super-nodes hold it sealed until they come online. */
  state: z.enum(['received', 'sending', 'delivered', 'stored', 'failed']),
  sipStatus: z.number().int().nullable(),
  identity: z.enum(['pinned', 'unverified', 'changed', 'self']).nullable(),
  read: z.boolean(),
  /** Incoming: it came from the mailbox (sent while we were offline), not over a live stream. */
  mailed: z.boolean().optional()
})
export type ChatMessage = z.infer<typeof ChatMessage>

export const CallRecord = z.object({
  id: z.string().min(1).max(128),
  direction: z.enum(['incoming', 'outgoing']),
  peer: AorText,
  peerName: z.string().max(128).nullable(),
  startedAt: z.string().max(40),
  answeredAt: z.string().max(40).nullable(),
  endedAt: z.string().max(40).nullable(),
  /** answered: talked; missed: incoming never answered; declined; failed: outgoing not answered. */
  outcome: z.enum(['answered', 'missed', 'declined', 'failed', 'cancelled']),
  sipStatus: z.number().int().nullable(),
  durationS: z.number().nonnegative().nullable()
})
export type CallRecord = z.infer<typeof CallRecord>

export const TracedNode = z.object({
  seq: z.number(),
  id: z.string().nullable(),
  host: z.string(),
  port: z.number(),
  hop: z.number(),
  parent: z.string().nullable(),
  rttMs: z.number().nullable(),
  outcome: z.enum(['ok', 'error', 'timeout']),
  records: z.number(),
  closerNodes: z.number()
})

export const LookupTrace = z.object({
  target: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
  hopsToFirstRecord: z.number().nullable(),
  nodes: z.array(TracedNode),
  via: z.enum(['lan', 'dht']).optional()
})
export type LookupTrace = z.infer<typeof LookupTrace>

export const TraceEntry = z.object({
  aor: z.string(),
  /** What asked: a `lookup` request, a call or message routed by the proxy, presence. */
  reason: z.enum(['lookup', 'proxy', 'message', 'presence']),
  keys: z.array(z.string()),
  trace: LookupTrace
})
export type TraceEntry = z.infer<typeof TraceEntry>

// ── Relaying (issue 5) ──────────────────────────────────────────────────────

/** The measurements af() is computed from, as sampled (see docs/relay.md). */
export const AnnoyanceInputs = z.object({
  /** This process's CPU use as a share of the whole machine, 0–1. */
  cpuProcess: z.number(),
  /** The whole machine's CPU use, 0–1. */
  cpuSystem: z.number(),
  /** Overlay (DHT, peer streams, blind relay) and TURN traffic, bytes per second. */
  bytesInPerS: z.number(),
  bytesOutPerS: z.number(),
  /** Of which relayed for others (TURN + blind relay). */
  relayBytesPerS: z.number(),
  relayedCalls: z.number().int().nonnegative(),
  uptimeS: z.number(),
  /** HyperDHT: not reachable from outside (behind a NAT or firewall). */
  firewalled: z.boolean(),
  /** HyperDHT: the NAT maps each destination to a new port (symmetric). */
  randomized: z.boolean(),
  /** Seconds since the user last touched the machine; null when unknown (headless). */
  idleS: z.number().nullable(),
  /** null when unknown (headless daemon, desktop without a battery). */
  onBattery: z.boolean().nullable()
})
export type AnnoyanceInputs = z.infer<typeof AnnoyanceInputs>

export const RelayLimits = z.object({
  /** Most bandwidth (in + out, kbit/s) this machine gives to relaying for others. */
  relayMaxKbps: z.number().int().min(64).max(10_000_000),
  /** Most calls relayed at once. */
  relayMaxCalls: z.number().int().min(0).max(10_000),
  /** Never act as a super-node or relay, whatever the score. */
  neverRelay: z.boolean()
})
export type RelayLimits = z.infer<typeof RelayLimits>

export const Annoyance = z.object({
  /** af() ∈ [0,1]: 0 nobody would notice relaying here, 1 the user would. */
  af: z.number().min(0).max(1),
  /** Each term's contribution before they are combined. */
  terms: z.object({ cpu: z.number(), bandwidth: z.number(), calls: z.number(), interactivity: z.number() }),
  /** What forced af to 1, if anything: 'battery', 'never-relay'. */
  veto: z.string().nullable(),
  inputs: AnnoyanceInputs,
  limits: RelayLimits,
  thresholds: z.object({ promote: z.number(), demote: z.number() })
})
export type Annoyance = z.infer<typeof Annoyance>

export const SuperNodeMode = z.enum(['auto', 'always', 'never'])
export type SuperNodeMode = z.infer<typeof SuperNodeMode>

export const RelayStatus = z.object({
  mode: SuperNodeMode,
  role: z.enum(['client', 'super-node', 'stepping-down']),
  /** Why the policy chose this role, in words: "af 0.12 < 0.30 for 60 s, reachable, up 900 s". */
  reason: z.string(),
  since: z.string(),
  annoyance: Annoyance,
  services: z.object({
    turn: z.object({ host: z.string(), port: z.number() }).nullable(),
    blindRelay: z.boolean(),
    allocations: z.number().int().nonnegative(),
    blindSessions: z.number().int().nonnegative(),
    freeSlots: z.number().int().nonnegative(),
    refused: z.number().int().nonnegative()
  }),
  /** Super-nodes this node sampled (relay topic), for the share policy. */
  sampledSuperNodes: z.number().int().nonnegative()
})
export type RelayStatus = z.infer<typeof RelayStatus>

export const IceServer = z.object({ urls: z.array(z.string()), username: z.string().optional(), credential: z.string().optional() })
export type IceServer = z.infer<typeof IceServer>

/** One relay considered for a call, with the measurements it was judged by. */
export const RelayCandidate = z.object({
  publicKey: z.string(),
  turn: z.string().nullable(),
  af: z.number().nullable(),
  freeSlots: z.number().nullable(),
  uptimeS: z.number().nullable(),
  rttMs: z.number().nullable(),
  loss: z.number().nullable(),
  /** 'primary' | 'backup' when chosen; otherwise why it was not. */
  role: z.enum(['primary', 'backup', 'rejected']),
  reason: z.string()
})
export type RelayCandidate = z.infer<typeof RelayCandidate>

/** Relays for one call: the ICE servers to use now and how they were chosen. */
export const RelayPlan = z.object({
  callId: z.string(),
  /** Whether this peer needs a relay (it is behind a NAT); if not, iceServers may be empty. */
  needed: z.boolean(),
  reason: z.string(),
  iceServers: z.array(IceServer),
  candidates: z.array(RelayCandidate),
  chosenAt: z.string()
})
export type RelayPlan = z.infer<typeof RelayPlan>

/** One routing-table entry: the node's DHT id and address. */
export const RoutingEntry = z.object({ id: z.string(), host: z.string(), port: z.number() })
export type RoutingEntry = z.infer<typeof RoutingEntry>

export const NodeStatus = z.object({
  aor: z.string(),
  displayName: z.string().nullable(),
  publicKey: z.string(),
  fingerprint: z.string(),
  /** 'client' (ephemeral DHT node) or 'super-node' (persistent, serving others). */
  role: z.enum(['client', 'super-node']),
  uptimeS: z.number(),
  overlay: z.object({
    state: z.string(),
    dhtAddress: z.string().nullable(),
    routingTableSize: z.number(),
    firewalled: z.boolean(),
    routingTable: z.array(RoutingEntry),
    /** mDNS neighbours (docs/lan.md); null when LAN discovery is off. */
    lan: z
      .object({
        advertising: z.boolean(),
        /** What `parley serve --lan` allows: `browse` never advertises, whatever the setting says. */
        mode: z.enum(['advertise', 'browse']),
        peers: z.array(z.object({ aor: z.string(), displayName: z.string(), publicKey: z.string(), address: z.string(), dht: z.string().nullable() })),
        /** Plain SIP UAs advertising themselves (no Parley key): the proxy routes their AORs to `contact`. */
        phones: z.array(z.object({ aor: z.string(), displayName: z.string(), contact: z.string(), address: z.string() }))
      })
      .nullable()
      .optional()
  }),
  connections: z.number(),
  traffic: z.object({ bytesIn: z.number(), bytesOut: z.number(), packetsIn: z.number(), packetsOut: z.number() }),
  registrations: z.array(
    z.object({ aor: z.string(), state: z.string(), lastAnnouncedAt: z.string().nullable(), storedAt: z.number(), error: z.string().nullable() })
  ),
  messages: z.object({ received: z.number(), sent: z.number() }),
  sip: z.object({
    transports: z.array(z.object({ transport: z.string(), host: z.string(), port: z.number() })),
    boundAors: z.number(),
    transactions: z.object({ server: z.number(), client: z.number() })
  }),
  relay: RelayStatus
})
export type NodeStatus = z.infer<typeof NodeStatus>

export const Settings = z.object({
  theme: z.enum(['system', 'light', 'dark']),
  /** Device ids; null follows the system default. */
  audioInput: z.string().max(256).nullable(),
  audioOutput: z.string().max(256).nullable(),
  ringtone: z.boolean(),
  /** Answer incoming calls at once (kiosks, tests, benchmarks). */
  autoAnswer: z.boolean(),
  /** Announce our SIP addresses to the local network (mDNS); off still finds others (privacy). */
  lanAdvertise: z.boolean(),
  /** Public keys (hex) whose owners may read this node's diagnostics over the overlay (docs/diagnostics.md). */
  diagnosticsAllow: z.array(HexKey).max(256)
}).extend(RelayLimits.shape)
export type Settings = z.infer<typeof Settings>
export const DEFAULT_RELAY_LIMITS: RelayLimits = { relayMaxKbps: 4000, relayMaxCalls: 8, neverRelay: false }
export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  audioInput: null,
  audioOutput: null,
  ringtone: true,
  autoAnswer: false,
  lanAdvertise: true,
  diagnosticsAllow: [],
  ...DEFAULT_RELAY_LIMITS
}

export const SendResult = z.object({
  id: z.string(),
  to: z.string(),
  status: z.number(),
  reason: z.string(),
  publicKey: z.string().nullable(),
  identity: z.enum(['pinned', 'first-contact', 'self']).nullable(),
  impostors: z.array(z.string()),
  /** `stored`: the recipient was unreachable and a majority of its mailbox holders acknowledged the sealed letter. */
  delivery: z.enum(['direct', 'stored', 'failed']),
  /** When mailing was tried: holders that acknowledged, of how many asked, and the refusal code if it failed. */
  mailbox: z.object({ acks: z.number().int(), holders: z.number().int(), code: z.string().nullable() }).nullable()
})

/** A voice message left for us (or by us) — RFC 3842's message-waiting, per voicemail. */
export const Voicemail = z.object({
  id: z.string(),
  direction: z.enum(['in', 'out']),
  peer: z.string(),
  peerName: z.string().nullable(),
  at: z.string(),
  durationMs: z.number().int().nonnegative(),
  mime: z.string(),
  bytes: z.number().int().nonnegative(),
  heard: z.boolean(),
  /** Outgoing: `stored` once a majority of holders took the envelope. */
  state: z.enum(['received', 'sending', 'stored', 'delivered', 'failed']),
  identity: z.enum(['pinned', 'unverified', 'changed', 'self']).nullable()
})
export type Voicemail = z.infer<typeof Voicemail>

/** Message-waiting summary (RFC 3842 `Voice-Message: new/old`) plus this node's mailbox roles. */
export const MailboxStatus = z.object({
  voicemail: z.object({ new: z.number().int(), old: z.number().int() }),
  /** When our mailbox was last fetched from its holders, and what went wrong if it failed. */
  lastFetchAt: z.string().nullable(),
  lastFetchError: z.string().nullable(),
  /** As a super-node: mailboxes and envelopes held for others (counts, never contents). */
  holder: z.object({ active: z.boolean(), mailboxes: z.number().int(), envelopes: z.number().int(), bytes: z.number().int(), blobs: z.number().int() })
})
export type MailboxStatus = z.infer<typeof MailboxStatus>

// ── Diagnostics (issue 9; docs/diagnostics.md) ─────────────────────────────

export const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
export type LogLevel = z.infer<typeof LogLevel>

export const DiagSection = z.enum(['routes', 'neighbours', 'store', 'lookups', 'all'])
export type DiagSection = z.infer<typeof DiagSection>

/** An open encrypted peer stream. */
export const DiagNeighbour = z.object({
  publicKey: z.string(),
  /** The AOR pinned to this key, when it is a contact. */
  aor: z.string().nullable(),
  /** Where the stream's packets come from (a relay's address when relayed); null when not known. */
  address: z.string().nullable(),
  /** `out`: this node dialled; `in`: the other side did. */
  direction: z.enum(['in', 'out']),
  since: z.string()
})
export type DiagNeighbour = z.infer<typeof DiagNeighbour>

const Count = z.number().int().nonnegative()

/** What this node holds, as counts only — never contents. */
export const DiagStore = z.object({
  /** DHT records held for others: only a persistent (super-node) DHT node stores any. */
  dht: z.object({ persistent: z.boolean(), announcements: Count, topics: Count, mutables: Count, immutables: Count, forwards: Count }),
  /** Others' mailboxes held as a super-node. */
  mailbox: z.object({ active: z.boolean(), mailboxes: Count, envelopes: Count, bytes: Count, blobs: Count }),
  /** Phones registered to this peer's registrar. */
  registrar: z.object({ aors: Count, bindings: Count }),
  messages: z.object({ received: Count, sent: Count }),
  voicemails: z.object({ received: Count, sent: Count })
})
export type DiagStore = z.infer<typeof DiagStore>

/** One recent lookup, summed up (the full trace: `traces.recent`). */
export const DiagLookup = z.object({
  aor: z.string(),
  reason: TraceEntry.shape.reason,
  startedAt: z.string(),
  durationMs: z.number(),
  hopsToFirstRecord: z.number().nullable(),
  keys: Count,
  /** DHT nodes asked, and of those how many answered with an error or not at all. */
  contacted: Count,
  failed: Count
})
export type DiagLookup = z.infer<typeof DiagLookup>

export const MAX_DIAG_ROUTES = 1024
export const MAX_DIAG_NEIGHBOURS = 1024
export const MAX_DIAG_LOOKUPS = 100

/** A node's diagnostics: the sections asked for, plus who answered and its log level. */
export const DiagReport = z.object({
  publicKey: z.string(),
  aor: z.string(),
  at: z.string(),
  logLevel: LogLevel,
  /** `size`: entries in the table; `nodes`: the first MAX_DIAG_ROUTES of them. */
  routes: z.object({ size: Count, nodes: z.array(RoutingEntry).max(MAX_DIAG_ROUTES) }).optional(),
  neighbours: z.array(DiagNeighbour).max(MAX_DIAG_NEIGHBOURS).optional(),
  store: DiagStore.optional(),
  lookups: z.array(DiagLookup).max(MAX_DIAG_LOOKUPS).optional()
})
export type DiagReport = z.infer<typeof DiagReport>

export const LogLevelChange = z.object({ level: LogLevel, previous: LogLevel })
export type LogLevelChange = z.infer<typeof LogLevelChange>

/** Largest voicemail the UI may upload: 2 minutes of Opus at 32 kbit/s, base64. */
export const MAX_VOICEMAIL_BYTES = 512 * 1024

// ── Requests ────────────────────────────────────────────────────────────────

/** Each method: its parameters and its result. */
export const Api = {
  // Identity and first run
  'identity.get': { params: Empty, result: Identity },
  'identity.setup': {
    params: z.object({ aor: AorText, displayName: z.string().trim().min(1).max(128).optional() }).strict(),
    result: Identity
  },

  // Node and overlay
  status: { params: Empty, result: NodeStatus },
  lookup: {
    params: z.object({ aor: AorText, trace: z.boolean().default(false) }).strict(),
    result: z.object({ aor: z.string(), keys: z.array(z.string()), pinned: z.string().nullable(), trace: LookupTrace.optional() })
  },
  'traces.recent': { params: z.object({ aor: AorText.optional() }).strict(), result: z.array(TraceEntry) },

  // Relaying: ICE servers for a call, failover, the super-node policy
  'relay.forCall': { params: z.object({ callId: z.string().min(1).max(256) }).strict(), result: RelayPlan },
  /** The call's relay stopped carrying media: drop it, promote a backup, return new ICE servers. */
  'relay.failover': { params: z.object({ callId: z.string().min(1).max(256), failed: z.string().max(512).optional() }).strict(), result: RelayPlan },
  'relay.setMode': { params: z.object({ mode: SuperNodeMode }).strict(), result: RelayStatus },

  // Presence
  'presence.get': { params: Empty, result: Presence },
  'presence.set': { params: z.object({ status: PresenceStatus, note: z.string().max(256).nullable().optional() }).strict(), result: Presence },

  // Buddies
  'buddies.list': { params: Empty, result: z.array(Buddy) },
  'buddies.add': { params: z.object({ aor: AorText, displayName: z.string().max(128).optional() }).strict(), result: Buddy },
  'buddies.remove': { params: z.object({ aor: AorText }).strict(), result: z.object({ removed: z.boolean() }) },
  /** Accept a buddy's changed key after the warning was shown. */
  'buddies.acceptKey': { params: z.object({ aor: AorText, publicKey: HexKey }).strict(), result: Buddy },

  // Messages
  'messages.list': { params: z.object({ peer: AorText.optional(), limit: z.number().int().min(1).max(10_000).default(500) }).strict(), result: z.array(ChatMessage) },
  'messages.send': { params: z.object({ to: AorText, text: z.string().min(1).max(64 * 1024) }).strict(), result: ChatMessage },
  'messages.markRead': { params: z.object({ peer: AorText }).strict(), result: z.object({ marked: z.number() }) },
  /** CLI spellings: send and wait for the final answer; list what came in. */
  send: { params: z.object({ to: AorText, text: z.string().min(1).max(64 * 1024) }).strict(), result: SendResult },
  inbox: { params: Empty, result: z.array(z.unknown()) },

  // Mailbox: offline messages and voicemail (docs/mailbox.md)
  'mailbox.status': { params: Empty, result: MailboxStatus },
  /** Fetch our mailbox from its holders now (it is also fetched at start-up and periodically). */
  'mailbox.check': { params: Empty, result: z.object({ received: z.number().int(), voicemails: z.number().int() }) },
  /** As a super-node: compare held mailboxes with the other holders now (null when not holding). */
  'mailbox.repair': {
    params: Empty,
    result: z.object({ mailboxes: z.number().int(), pushed: z.number().int(), pulled: z.number().int(), dropped: z.number().int(), expired: z.number().int(), unreachable: z.number().int() }).nullable()
  },
  /** Leave a voice message (recorded in the renderer, Opus) for a buddy who did not answer. */
  'voicemail.send': {
    params: z.object({ to: AorText, audio: z.string().min(1).max(Math.ceil((MAX_VOICEMAIL_BYTES * 4) / 3) + 4), mime: z.string().min(1).max(64), durationMs: z.number().int().min(0).max(10 * 60_000) }).strict(),
    result: Voicemail
  },
  'voicemail.list': { params: Empty, result: z.array(Voicemail) },
  /** The recording, base64. */
  'voicemail.audio': { params: z.object({ id: z.string().min(1).max(128) }).strict(), result: z.object({ mime: z.string(), audio: z.string() }) },
  'voicemail.markHeard': { params: z.object({ id: z.string().min(1).max(128) }).strict(), result: Voicemail },

  // Call history
  'calls.list': { params: z.object({ limit: z.number().int().min(1).max(10_000).default(200) }).strict(), result: z.array(CallRecord) },
  'calls.record': { params: CallRecord.strict(), result: CallRecord },

  // Settings
  'settings.get': { params: Empty, result: Settings },
  'settings.set': { params: Settings.partial().strict(), result: Settings },

  // Diagnostics (docs/diagnostics.md): this node's, or with `peer` (an AOR or a hex key) another's over the overlay
  'diag.get': { params: z.object({ section: DiagSection.default('all'), peer: AorText.optional() }).strict(), result: DiagReport },
  /** Without `level`: the current one (`previous` equals it). */
  'diag.logLevel': { params: z.object({ level: LogLevel.optional(), peer: AorText.optional() }).strict(), result: LogLevelChange },
  /** The keys allowed to query this node's diagnostics (the `diagnosticsAllow` setting). */
  'diag.allow.list': { params: Empty, result: z.array(z.string()) },
  'diag.allow.add': { params: z.object({ publicKey: HexKey }).strict(), result: z.array(z.string()) },
  'diag.allow.remove': { params: z.object({ publicKey: HexKey }).strict(), result: z.object({ removed: z.boolean(), allow: z.array(z.string()) }) },

  // Pinned keys (CLI)
  'contacts.list': { params: Empty, result: z.array(z.unknown()) },
  'contacts.pin': { params: z.object({ aor: AorText, publicKey: HexKey }).strict(), result: z.unknown() },
  'contacts.remove': { params: z.object({ aor: AorText }).strict(), result: z.object({ removed: z.boolean() }) }
} as const

export type ApiMethod = keyof typeof Api
export type ApiParams<M extends ApiMethod> = z.input<(typeof Api)[M]['params']>
export type ApiParsedParams<M extends ApiMethod> = z.output<(typeof Api)[M]['params']>
export type ApiResult<M extends ApiMethod> = z.infer<(typeof Api)[M]['result']>

// ── Events (peer → UI) ──────────────────────────────────────────────────────

export const ApiEvents = {
  identity: Identity,
  /** One buddy changed: presence, identity warning, unread count. */
  buddy: Buddy,
  'buddy-removed': z.object({ aor: z.string() }),
  /** Own presence changed (from this or another UI). */
  presence: Presence,
  /** A message arrived or an outgoing one changed state. */
  message: ChatMessage,
  call: CallRecord,
  /** A voicemail arrived or changed state (heard, stored). */
  voicemail: Voicemail,
  /** Message-waiting changed. */
  mailbox: MailboxStatus,
  trace: TraceEntry,
  settings: Settings
} as const

export type ApiEventName = keyof typeof ApiEvents
export type ApiEvent<E extends ApiEventName> = z.infer<(typeof ApiEvents)[E]>

// ── Envelopes ───────────────────────────────────────────────────────────────

export const RequestEnvelope = z.object({
  id: z.number().int().nonnegative(),
  method: z.string().max(64),
  params: z.unknown().optional()
})

export interface ApiError {
  code: string
  message: string
  details?: unknown
}

export type ReplyEnvelope = { id: number; ok: true; result: unknown } | { id: number | null; ok: false; error: ApiError }
export interface EventEnvelope {
  event: ApiEventName
  data: unknown
}

export const MAX_REQUEST_BYTES = 1024 * 1024

export function isApiMethod(name: string): name is ApiMethod {
  return Object.hasOwn(Api, name)
}

/** The first problem with a payload, naming its field: `to: Too small…`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid'
  const field = issue.path.length ? issue.path.join('.') : 'keys' in issue ? (issue.keys as string[]).join(', ') : '(params)'
  return `${field}: ${issue.message}`
}

export class ApiRequestError extends Error {
  readonly code = 'BAD_REQUEST'
}

/** Validate params, naming the offending field in the error. */
export function parseParams<M extends ApiMethod>(method: M, params: unknown): ApiParsedParams<M> {
  const parsed = Api[method].params.safeParse(params ?? {})
  if (parsed.success) return parsed.data as ApiParsedParams<M>
  throw new ApiRequestError(`invalid ${method} request: ${describeIssue(parsed.error)}`)
}
