import { LogLevel, type DiagReport, type DiagSection, type LogLevelChange } from '../api/contract.js'
import { ParleyError } from '../errors.js'
import { controlRequest } from './control-client.js'

export const DIAG_USAGE = 'diag takes: [routes | neighbours | store | lookups | log-level [LEVEL] | allow [list | add KEY | remove KEY]] [--peer AOR|KEY]'
const SECTIONS = ['routes', 'neighbours', 'store', 'lookups'] as const
const HEX_KEY = /^[0-9a-f]{64}$/i

/**
 * `parley diag`: the running peer's diagnostics (or, with --peer, another
 * peer's over the overlay, when its owner allowed our key), its log level, and
 * the keys allowed to ask for ours. Throws ParleyError (USAGE for bad
 * arguments; NOT_ALLOWED, NOT_FOUND, PEER_UNREACHABLE… from the peer).
 */
export async function diagCommand(dataDir: string, args: string[], flags: { peer?: string; json: boolean }): Promise<string> {
  const [action = 'all', arg, ...extra] = args
  const show = (result: unknown, human: () => string) => (flags.json ? JSON.stringify(result) : human())
  const peer = flags.peer === undefined ? {} : { peer: flags.peer }

  if (action === 'all' || (SECTIONS as readonly string[]).includes(action)) {
    if (arg !== undefined) throw ParleyError.USAGE(DIAG_USAGE)
    const report = (await controlRequest(dataDir, 'diag.get', { section: action as DiagSection, ...peer })) as DiagReport
    return show(report, () => formatReport(report))
  }
  if (action === 'log-level') {
    if (extra.length) throw ParleyError.USAGE(DIAG_USAGE)
    const level = arg === undefined ? undefined : LogLevel.safeParse(arg)
    if (level && !level.success) throw ParleyError.USAGE(`log-level must be one of ${LogLevel.options.join(', ')}`)
    const change = (await controlRequest(dataDir, 'diag.logLevel', { ...(level ? { level: level.data } : {}), ...peer })) as LogLevelChange
    return show(change, () => (change.level === change.previous ? `log level: ${change.level}` : `log level: ${change.level} (was ${change.previous})`))
  }
  if (action === 'allow') {
    if (flags.peer !== undefined) throw ParleyError.USAGE('--peer does not apply to allow: each owner keeps their own allow-list')
    return allow(dataDir, arg ?? 'list', extra, show)
  }
  throw ParleyError.USAGE(DIAG_USAGE)
}

async function allow(dataDir: string, action: string, args: string[], show: (result: unknown, human: () => string) => string): Promise<string> {
  const list = (keys: string[]) => (keys.length ? keys.join('\n') : '(no key may read this node’s diagnostics)')
  if (action === 'list' && args.length === 0) {
    const keys = (await controlRequest(dataDir, 'diag.allow.list', {})) as string[]
    return show(keys, () => list(keys))
  }
  const [key] = args
  if ((action !== 'add' && action !== 'remove') || key === undefined || args.length !== 1) throw ParleyError.USAGE(DIAG_USAGE)
  if (!HEX_KEY.test(key)) throw ParleyError.USAGE(`KEY must be a public key, 64 hex digits (got ${JSON.stringify(key.slice(0, 80))})`)
  const publicKey = key.toLowerCase()
  if (action === 'add') {
    const keys = (await controlRequest(dataDir, 'diag.allow.add', { publicKey })) as string[]
    return show(keys, () => `allowed ${publicKey}\n${list(keys)}`)
  }
  const result = (await controlRequest(dataDir, 'diag.allow.remove', { publicKey })) as { removed: boolean; allow: string[] }
  return show(result, () => `${result.removed ? 'removed' : 'was not allowed:'} ${publicKey}\n${list(result.allow)}`)
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
const short = (hex: string) => `${hex.slice(0, 12)}…`

/** The report as text, one block per section it holds. */
export function formatReport(r: DiagReport): string {
  const blocks = [`${r.aor} (${short(r.publicKey)}) at ${r.at}, log level ${r.logLevel}`]
  if (r.routes) {
    const lines = [`routing table: ${count(r.routes.size, 'node')}`]
    for (const n of r.routes.nodes) lines.push(`  ${short(n.id)}  ${n.host}:${n.port}`)
    if (r.routes.size > r.routes.nodes.length) lines.push(`  and ${r.routes.size - r.routes.nodes.length} more`)
    blocks.push(lines.join('\n'))
  }
  if (r.neighbours) {
    const lines = [`neighbours: ${count(r.neighbours.length, 'open peer stream')}`]
    for (const n of r.neighbours) lines.push(`  ${n.direction.padEnd(3)}  ${short(n.publicKey)}  ${(n.aor ?? '-').padEnd(28)} ${(n.address ?? '-').padEnd(21)}  since ${n.since}`)
    blocks.push(lines.join('\n'))
  }
  if (r.store) {
    const { dht, mailbox, registrar, messages, voicemails } = r.store
    blocks.push(
      [
        'stored here (counts only):',
        `  DHT records   ${dht.persistent ? `${count(dht.announcements, 'announcement')} on ${count(dht.topics, 'topic')}, ${dht.mutables} mutable, ${dht.immutables} immutable` : 'none (not a persistent DHT node)'}, ${count(dht.forwards, 'forward')}`,
        `  mailboxes     ${mailbox.active ? `${count(mailbox.mailboxes, 'mailbox', 'mailboxes')} held, ${count(mailbox.envelopes, 'letter')}, ${mailbox.bytes} bytes, ${count(mailbox.blobs, 'recording')}` : 'none (not a mailbox holder)'}`,
        `  registrar     ${count(registrar.aors, 'AOR')}, ${count(registrar.bindings, 'binding')}`,
        `  messages      ${messages.received} received, ${messages.sent} sent`,
        `  voicemails    ${voicemails.received} received, ${voicemails.sent} sent`
      ].join('\n')
    )
  }
  if (r.lookups) {
    const lines = [`recent lookups: ${r.lookups.length}`]
    if (r.lookups.length) lines.push('  started                   reason    keys     ms  hops  asked  failed  AOR')
    for (const l of r.lookups) {
      lines.push(`  ${l.startedAt.padEnd(24)}  ${l.reason.padEnd(8)} ${String(l.keys).padStart(5)} ${String(l.durationMs).padStart(6)} ${String(l.hopsToFirstRecord ?? '-').padStart(5)} ${String(l.contacted).padStart(6)} ${String(l.failed).padStart(7)}  ${l.aor}`)
    }
    blocks.push(lines.join('\n'))
  }
  return blocks.join('\n\n')
}
