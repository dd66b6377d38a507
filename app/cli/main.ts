import { parseArgs, type ParseArgsConfig } from 'node:util'
import { readFileSync } from 'node:fs'
import { ParleyError, errorCode } from '../errors.js'
import { canonicalAor } from '../identity/aor.js'
import { parseHostPort } from '../overlay/host-cache.js'
import { controlRequest } from './control-client.js'
import { defaultDataDir } from './data-dir.js'
import { formatHuman } from './format.js'
import { serve } from './serve.js'
import { runTestnet } from './testnet.js'
import { accountsCommand } from './accounts.js'
import { checkCommand } from './check.js'
import { diagCommand } from './diag.js'
import type { SipOptions } from '../sip-stack.js'
import type { RelayOptions } from '../relay/relay-service.js'
import type { MailboxOptions } from '../mailbox/mailbox-service.js'
import { SuperNodeMode } from '../api/contract.js'
import type { CpuBasis } from '../relay/capacity-sampler.js'

const USAGE = `usage: parley <command> [options]

  testnet [--nodes N] [--host IP]          run a local HyperDHT testnet; prints {"bootstrap":[…]}
  serve --aor SIP-URI [--name NAME] [--bootstrap HOST:PORT,…] [--dht-host IP] [--dht-port N]
        [--sip-udp PORT] [--sip-tcp PORT] [--sip-ws PORT] [--sip-host IP] [--sip-auth digest|off]
        [--sip-domain D,…] [--sip-dns on|off] [--sip-digest md5|md5-first|sha256-first|sha256] [--sip-rate-limit N|off]
        [--web PORT] [--supernode auto|always|never] [--turn-host IP] [--turn-port N] [--relay-min-uptime S] [--always-relay]
        [--relay-cpu system|own]
        [--relay-max-calls N] [--relay-max-kbps N] [--mailbox-replicas N] [--mailbox-check-ms MS] [--mailbox-repair-ms MS]
        [--metrics PORT] [--metrics-host IP] [--lan advertise|browse|off] [--lan-refresh-ms MS]
                                           run a headless peer (and SIP proxy/registrar for phones);
                                           prints {"event":"ready",…}; with --web also serves the UI on
                                           127.0.0.1 and prints {"event":"web","url":"http://127.0.0.1:PORT/#token=…"}
                                           (--aor may then be left out: the UI's first-run view chooses it);
                                           with --metrics serves Prometheus metrics on 127.0.0.1 and prints
                                           {"event":"metrics","url":"http://127.0.0.1:PORT/metrics"}
  status [--json]                          role, overlay, connections, registrations
  lookup AOR [--trace] [--json]            public keys announcing AOR (with the DHT path)
  send AOR TEXT [--json]                   send an instant message; prints the final SIP status, or
                                           "stored" when the recipient is offline and its mailbox took it
  inbox [--json]                           received messages (mailed ones marked)
  mailbox [status | check | repair] [--json]
                                           offline messages: message-waiting and holder counts, fetch
                                           our mailbox now, run a holder's repair round now
  contacts [list | pin AOR KEY | remove AOR] [--json]
                                           pinned buddy keys
  accounts [list | add AOR (--password PW | --password-file FILE|-) [--username U] [--realm R]
           | remove AOR|USERNAME] [--json]
                                           SIP accounts of phones that register to this peer
  diag [routes | neighbours | store | lookups] [--peer AOR|KEY] [--json]
                                           diagnostics: routing table, open peer streams, what this node
                                           holds (counts), recent lookups; with --peer another peer's,
                                           over the overlay, if its owner allowed our key
  diag log-level [LEVEL] [--peer AOR|KEY]  read or set the running log level (here or on --peer)
  diag allow [list | add KEY | remove KEY] the public keys allowed to read this node's diagnostics
  check HOST[:PORT] [--transport udp|tcp] [--timeout MS] [--warning MS] [--critical MS]
                                           Nagios plugin: one SIP OPTIONS; prints a status line with
                                           perfdata; exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN

  Every command but testnet and check takes --data-dir DIR (default: ${defaultDataDir()}).
  --log-level trace|debug|info|warn|error|silent sets serve's stderr log.`

type Options = NonNullable<ParseArgsConfig['options']>
const DATA_DIR: Options = { 'data-dir': { type: 'string' } }
const JSON_FLAG: Options = { json: { type: 'boolean' } }

const COMMANDS: Record<string, { options: Options; positionals: [number, number] }> = {
  testnet: { options: { nodes: { type: 'string' }, host: { type: 'string' } }, positionals: [0, 0] },
  serve: {
    options: {
      ...DATA_DIR,
      aor: { type: 'string' },
      name: { type: 'string' },
      bootstrap: { type: 'string' },
      'dht-host': { type: 'string' },
      'dht-port': { type: 'string' },
      'log-level': { type: 'string' },
      'sip-udp': { type: 'string' },
      'sip-tcp': { type: 'string' },
      'sip-ws': { type: 'string' },
      'sip-host': { type: 'string' },
      'sip-auth': { type: 'string' },
      'sip-domain': { type: 'string' },
      'sip-dns': { type: 'string' },
      'sip-digest': { type: 'string' },
      'sip-rate-limit': { type: 'string' },
      web: { type: 'string' },
      supernode: { type: 'string' },
      'turn-host': { type: 'string' },
      'turn-port': { type: 'string' },
      'relay-min-uptime': { type: 'string' },
      'always-relay': { type: 'boolean' },
      'relay-cpu': { type: 'string' },
      'relay-max-calls': { type: 'string' },
      'relay-max-kbps': { type: 'string' },
      'mailbox-replicas': { type: 'string' },
      'mailbox-check-ms': { type: 'string' },
      'mailbox-repair-ms': { type: 'string' },
      metrics: { type: 'string' },
      'metrics-host': { type: 'string' },
      lan: { type: 'string' },
      'lan-refresh-ms': { type: 'string' }
    },
    positionals: [0, 0]
  },
  status: { options: { ...DATA_DIR, ...JSON_FLAG }, positionals: [0, 0] },
  lookup: { options: { ...DATA_DIR, ...JSON_FLAG, trace: { type: 'boolean' } }, positionals: [1, 1] },
  send: { options: { ...DATA_DIR, ...JSON_FLAG }, positionals: [2, 2] },
  inbox: { options: { ...DATA_DIR, ...JSON_FLAG }, positionals: [0, 0] },
  mailbox: { options: { ...DATA_DIR, ...JSON_FLAG }, positionals: [0, 1] },
  contacts: { options: { ...DATA_DIR, ...JSON_FLAG }, positionals: [0, 3] },
  diag: { options: { ...DATA_DIR, ...JSON_FLAG, peer: { type: 'string' } }, positionals: [0, 3] },
  accounts: {
    options: { ...DATA_DIR, ...JSON_FLAG, password: { type: 'string' }, 'password-file': { type: 'string' }, username: { type: 'string' }, realm: { type: 'string' } },
    positionals: [0, 2]
  }
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/** Runs one CLI invocation; returns the process exit code. */
export async function main(argv: string[], io = { out: (s: string) => process.stdout.write(s + '\n'), err: (s: string) => process.stderr.write(s + '\n') }): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === 'version') {
    io.out(version())
    return 0
  }
  // A Nagios plugin: its own flags, exit 3 and one stdout line for bad arguments (not 2 on stderr).
  if (command === 'check') return checkCommand(rest, io.out)
  const spec = COMMANDS[command]
  try {
    if (!spec) throw ParleyError.USAGE(`unknown command ${JSON.stringify(command)} (see parley --help)`)
    let parsed
    try {
      parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true })
    } catch (err) {
      throw ParleyError.USAGE((err as Error).message.split(/\.\s|\n/)[0] ?? 'bad arguments')
    }
    const { values, positionals } = parsed
    const [min, max] = spec.positionals
    if (positionals.length < min || positionals.length > max) {
      throw ParleyError.USAGE(`${command} takes ${min === max ? min : `${min}–${max}`} argument(s), got ${positionals.length} (see parley --help)`)
    }
    const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir()
    const json = values.json === true
    const emit = (line: object) => io.out(JSON.stringify(line))
    const show = (result: unknown) => io.out(json ? JSON.stringify(result) : formatHuman(command, result))

    switch (command) {
      case 'testnet': {
        const nodes = intFlag(values.nodes, 'nodes', 10, 1, 100_000)
        await runTestnet(nodes, (values.host as string | undefined) ?? '127.0.0.1', emit)
        return 0
      }
      case 'serve': {
        const aor = values.aor as string | undefined
        if (aor !== undefined) canonicalAor(aor)
        const logLevel = values['log-level'] as string | undefined
        if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) throw ParleyError.USAGE(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
        if (values['metrics-host'] !== undefined && values.metrics === undefined) throw ParleyError.USAGE('--metrics-host needs --metrics PORT')
        await serve(
          {
            dataDir,
            aor,
            displayName: values.name as string | undefined,
            bootstrap: bootstrapFlag(values.bootstrap as string | undefined),
            dhtHost: values['dht-host'] as string | undefined,
            dhtPort: values['dht-port'] === undefined ? undefined : intFlag(values['dht-port'], 'dht-port', 0, 1, 65535),
            sip: sipFlags(values),
            relay: relayFlags(values),
            mailbox: mailboxFlags(values),
            relayLimits: {
              ...(values['relay-max-calls'] !== undefined && { relayMaxCalls: intFlag(values['relay-max-calls'], 'relay-max-calls', 8, 0, 10_000) }),
              ...(values['relay-max-kbps'] !== undefined && { relayMaxKbps: intFlag(values['relay-max-kbps'], 'relay-max-kbps', 4000, 64, 10_000_000) })
            },
            web: values.web === undefined ? undefined : intFlag(values.web, 'web', 0, 0, 65535),
            metrics: values.metrics === undefined ? undefined : intFlag(values.metrics, 'metrics', 0, 0, 65535),
            metricsHost: values['metrics-host'] as string | undefined,
            lan: lanFlag(values.lan as string | undefined, values['lan-refresh-ms']),
            logLevel
          },
          emit
        )
        return 0
      }
      case 'status':
        show(await controlRequest(dataDir, 'status', {}))
        return 0
      case 'lookup': {
        const aor = canonicalAor(positionals[0] as string)
        const result = (await controlRequest(dataDir, 'lookup', { aor, trace: values.trace === true })) as { keys: string[] }
        show(result)
        return result.keys.length ? 0 : 1
      }
      case 'send': {
        const to = canonicalAor(positionals[0] as string)
        const result = (await controlRequest(dataDir, 'send', { to, text: positionals[1] as string })) as { delivery: string }
        show(result)
        return result.delivery === 'failed' ? 1 : 0
      }
      case 'inbox':
        show(await controlRequest(dataDir, 'inbox', {}))
        return 0
      case 'mailbox': {
        const sub = positionals[0] ?? 'status'
        const method = ({ status: 'mailbox.status', check: 'mailbox.check', repair: 'mailbox.repair' } as const)[sub as 'status']
        if (!method) throw ParleyError.USAGE('mailbox takes status, check or repair')
        show(await controlRequest(dataDir, method, {}))
        return 0
      }
      case 'contacts':
        show(await contacts(dataDir, positionals))
        return 0
      case 'diag':
        io.out(await diagCommand(dataDir, positionals, { peer: values.peer as string | undefined, json }))
        return 0
      case 'accounts': {
        const r = await accountsCommand(dataDir, positionals, {
          password: values.password as string | undefined,
          passwordFile: values['password-file'] as string | undefined,
          username: values.username as string | undefined,
          realm: values.realm as string | undefined,
          json
        })
        io.out(r.output)
        return r.code
      }
    }
    return 2
  } catch (err) {
    const code = errorCode(err)
    const usage = code === 'USAGE' || code === 'BAD_AOR' || code === 'BAD_REQUEST'
    io.err(`parley ${command}: ${(err as Error).message}${code && !usage ? ` [${code}]` : ''}`)
    return usage ? 2 : 1
  }
}

async function contacts(dataDir: string, args: string[]): Promise<unknown> {
  const [action = 'list', aor, key] = args
  if (action === 'list' && args.length <= 1) return controlRequest(dataDir, 'contacts.list', {})
  if (action === 'pin' && aor && key) return controlRequest(dataDir, 'contacts.pin', { aor: canonicalAor(aor), publicKey: key.toLowerCase() })
  if (action === 'remove' && aor && !key) return controlRequest(dataDir, 'contacts.remove', { aor: canonicalAor(aor) })
  throw ParleyError.USAGE('contacts takes: list | pin AOR KEY | remove AOR')
}

function intFlag(raw: unknown, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!/^\d+$/.test(String(raw)) || n < min || n > max) throw ParleyError.USAGE(`--${name} must be an integer from ${min} to ${max}`)
  return n
}

function sipFlags(values: Record<string, unknown>): SipOptions {
  const port = (name: string) => (values[name] === undefined ? undefined : intFlag(values[name], name, 0, 0, 65535))
  const choice = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const v = values[name] as string | undefined
    if (v !== undefined && !allowed.includes(v as T)) throw ParleyError.USAGE(`--${name} must be one of ${allowed.join(', ')}`)
    return v as T | undefined
  }
  const domains = (values['sip-domain'] as string | undefined)?.split(',').map((d) => d.trim()).filter(Boolean)
  const dns = choice('sip-dns', ['on', 'off'] as const)
  const limit = values['sip-rate-limit'] as string | undefined
  const rateLimit = limit === undefined ? undefined : limit === 'off' ? (false as const) : { ratePerSecond: intFlag(limit, 'sip-rate-limit', 0, 1, 10_000_000), burst: 2 * Number(limit) }
  return {
    udp: port('sip-udp'),
    tcp: port('sip-tcp'),
    ws: port('sip-ws'),
    host: values['sip-host'] as string | undefined,
    auth: choice('sip-auth', ['digest', 'off'] as const),
    digest: choice('sip-digest', ['md5', 'md5-first', 'sha256-first', 'sha256'] as const),
    domains,
    dns: dns === undefined ? undefined : dns === 'on',
    rateLimit
  }
}

function relayFlags(values: Record<string, unknown>): RelayOptions {
  const mode = values.supernode as string | undefined
  if (mode !== undefined && !SuperNodeMode.options.includes(mode as SuperNodeMode)) {
    throw ParleyError.USAGE(`--supernode must be one of ${SuperNodeMode.options.join(', ')}`)
  }
  const minUptime = values['relay-min-uptime']
  const cpu = values['relay-cpu'] as string | undefined
  if (cpu !== undefined && cpu !== 'system' && cpu !== 'own') throw ParleyError.USAGE('--relay-cpu must be system or own')
  return {
    cpuBasis: cpu as CpuBasis | undefined,
    mode: mode as SuperNodeMode | undefined,
    turnHost: values['turn-host'] as string | undefined,
    turnPort: values['turn-port'] === undefined ? undefined : intFlag(values['turn-port'], 'turn-port', 0, 0, 65535),
    alwaysRelay: values['always-relay'] === true ? true : undefined,
    constraints: minUptime === undefined ? undefined : { minUptimeS: intFlag(minUptime, 'relay-min-uptime', 60, 0, 86_400) }
  }
}

function mailboxFlags(values: Record<string, unknown>): MailboxOptions {
  const opt = (name: string, min: number, max: number) => (values[name] === undefined ? undefined : intFlag(values[name], name, min, min, max))
  return {
    replicas: opt('mailbox-replicas', 1, 15),
    checkMs: opt('mailbox-check-ms', 500, 86_400_000),
    repairMs: opt('mailbox-repair-ms', 500, 86_400_000)
  }
}

/** `--lan`: mDNS discovery of SIP peers on the DHT's network (docs/lan.md); advertising by default. */
function lanFlag(raw: string | undefined, refresh: unknown): { advertise: boolean; refreshMs: number } | undefined {
  const mode = raw ?? 'advertise'
  if (!['advertise', 'browse', 'off'].includes(mode)) throw ParleyError.USAGE('--lan must be one of advertise, browse, off')
  const refreshMs = intFlag(refresh, 'lan-refresh-ms', 30_000, 500, 3_600_000)
  return mode === 'off' ? undefined : { advertise: mode === 'advertise', refreshMs }
}

function bootstrapFlag(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean)
  if (list.length === 0) throw ParleyError.USAGE('--bootstrap needs HOST:PORT[,HOST:PORT…]')
  for (const entry of list) {
    try {
      parseHostPort(entry)
    } catch (err) {
      throw ParleyError.USAGE(`--bootstrap: ${(err as Error).message}`)
    }
  }
  return list
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
