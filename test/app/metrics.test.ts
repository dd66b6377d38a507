import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { request } from 'node:http'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { CliProcess, runCli, startCliTestnet } from '../helpers/cli.js'
import { TestUa } from '../helpers/sip-ua.js'

/** prom2json's shape: what a Prometheus-compatible consumer reads from the text format. */
interface MetricFamily {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>
}
// The parser ships CommonJS without types.
const parsePrometheusText = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => MetricFamily[]

const procs: CliProcess[] = []
const dirs: string[] = []
let bootstrap = ''

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'parley-metrics-'))
  dirs.push(dir)
  return dir
}

async function serve(aor: string, extra: string[] = []) {
  const dir = await tempDir()
  const proc = CliProcess.start(['serve', '--data-dir', dir, '--aor', aor, '--bootstrap', bootstrap, '--dht-host', '127.0.0.1', ...extra])
  procs.push(proc)
  const ready = await proc.waitFor((l) => l.event === 'ready', 'ready')
  return { proc, dir, ready }
}

function http(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function scrape(url: string): Promise<Map<string, MetricFamily>> {
  const res = await http(url)
  assert.equal(res.status, 200)
  assert.match(res.type, /^text\/plain; version=0\.0\.4/)
  return new Map(parsePrometheusText(res.body).map((f) => [f.name, f]))
}

/** The sample of `family` whose labels include `labels` (summed over the rest). */
function value(families: Map<string, MetricFamily>, family: string, labels: Record<string, string> = {}): number {
  const f = families.get(family)
  assert.ok(f, `metric family ${family} missing`)
  const matching = f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return matching.reduce((sum, m) => sum + Number(m.value ?? m.count), 0)
}

before(async () => {
  bootstrap = await startCliTestnet(procs)
})

after(async () => {
  for (const p of procs.reverse()) await p.stop()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const FAMILIES: Array<[string, MetricFamily['type']]> = [
  ['parley_registrar_aors', 'GAUGE'],
  ['parley_overlay_registrations', 'GAUGE'],
  ['parley_dht_lookups_total', 'COUNTER'],
  ['parley_dht_lookup_duration_seconds', 'HISTOGRAM'],
  ['parley_sip_invites_total', 'COUNTER'],
  ['parley_sip_requests_total', 'COUNTER'],
  ['parley_relay_sessions', 'GAUGE'],
  ['parley_mailbox_held_mailboxes', 'GAUGE'],
  ['parley_mailbox_held_envelopes', 'GAUGE'],
  ['parley_mailbox_held_bytes', 'GAUGE'],
  ['parley_annoyance_factor', 'GAUGE'],
  ['parley_role', 'GAUGE'],
  ['parley_dht_routing_table_nodes', 'GAUGE'],
  ['parley_peer_connections', 'GAUGE'],
  ['parley_dht_traffic_bytes_total', 'COUNTER'],
  ['parley_dht_traffic_packets_total', 'COUNTER'],
  ['process_cpu_seconds_total', 'COUNTER']
]

test('serve --metrics exposes Prometheus text whose counters move with traffic', async () => {
  const alice = await serve('sip:alice@example.org', ['--metrics', '0', '--sip-udp', '0', '--sip-auth', 'off'])
  const event = await alice.proc.waitFor((l) => l.event === 'metrics', 'metrics event')
  const url = String(event.url)
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)

  const first = await scrape(url)
  for (const [name, type] of FAMILIES) {
    assert.equal(first.get(name)?.type, type, `${name} should be a ${type}`)
    assert.ok(first.get(name)?.help, `${name} has HELP text`)
  }
  assert.equal(value(first, 'parley_overlay_registrations', { state: 'announced' }), 1)
  assert.equal(value(first, 'parley_registrar_aors'), 0)
  assert.equal(value(first, 'parley_role', { role: 'client' }), 1)
  const af = value(first, 'parley_annoyance_factor')
  assert.ok(af >= 0 && af <= 1, `af ${af}`)
  assert.ok(value(first, 'parley_dht_routing_table_nodes') > 0)
  assert.ok(value(first, 'parley_dht_traffic_bytes_total', { direction: 'in' }) > 0)
  assert.ok(value(first, 'parley_dht_traffic_packets_total', { direction: 'in' }) > 0)
  // udx-native 1.21 leaves its transmit counters at 0 (docs/monitoring.md), so only the series is checked.
  assert.ok(value(first, 'parley_dht_traffic_bytes_total', { direction: 'out' }) >= 0)
  assert.equal(value(first, 'parley_relay_sessions', { kind: 'turn' }), 0)
  assert.equal(value(first, 'parley_relay_sessions', { kind: 'blind' }), 0)

  // Traffic: a second peer, a lookup and a message from alice, a phone that registers and calls.
  const bob = await serve('sip:bob@example.org')
  const lookup = await runCli(['lookup', 'sip:bob@example.org', '--json', '--data-dir', alice.dir])
  assert.equal(lookup.code, 0, lookup.stderr)
  const sent = await runCli(['send', 'sip:bob@example.org', 'metered hello', '--json', '--data-dir', alice.dir])
  assert.equal(sent.code, 0, sent.stderr)
  const udp = (alice.ready.sip as Array<{ transport: string; port: number }>).find((t) => t.transport === 'UDP')
  const phone = await TestUa.open('sip:desk@example.org', udp?.port ?? 0)
  try {
    assert.equal((await phone.register()).status, 200)
    const invite = phone.request('INVITE', 'sip:alice@example.org', { body: 'v=0\r\n', headers: [['Content-Type', 'application/sdp']] })
    const answer = await phone.send(invite)
    assert.ok(answer.status >= 400, `INVITE answered ${answer.status}`)

    const second = await scrape(url)
    assert.ok(value(second, 'parley_dht_lookups_total', { reason: 'lookup', result: 'found' }) >= 1, 'CLI lookup counted')
    assert.ok(value(second, 'parley_dht_lookups_total', { reason: 'message' }) >= 1, 'the message lookup counted')
    assert.ok(value(second, 'parley_dht_lookups_total') > value(first, 'parley_dht_lookups_total'))
    const histogram = second.get('parley_dht_lookup_duration_seconds')!.metrics[0]!
    assert.ok(Number(histogram.count) >= 2)
    assert.ok(Number(histogram.sum) > 0)
    assert.equal(Number(histogram.buckets?.['+Inf']), Number(histogram.count))
    assert.equal(value(second, 'parley_sip_invites_total'), value(first, 'parley_sip_invites_total') + 1)
    assert.ok(value(second, 'parley_sip_requests_total') >= value(first, 'parley_sip_requests_total') + 2)
    assert.equal(value(second, 'parley_registrar_aors'), 1)
    assert.ok(value(second, 'parley_peer_connections') >= 1)
    assert.ok(value(second, 'parley_dht_traffic_bytes_total', { direction: 'in' }) > value(first, 'parley_dht_traffic_bytes_total', { direction: 'in' }))
  } finally {
    phone.close()
  }
  assert.equal(await bob.proc.stop(), 0)
  assert.equal(await alice.proc.stop(), 0)
  assert.ok(alice.proc.lines.some((l) => l.event === 'stopped'))
  await assert.rejects(http(url), /ECONNREFUSED/, 'the metrics server closes with the peer')
})

test('only GET /metrics is served, on 127.0.0.1', async () => {
  const carol = await serve('sip:carol@example.org', ['--metrics', '0'])
  const url = new URL(String((await carol.proc.waitFor((l) => l.event === 'metrics', 'metrics event')).url))
  assert.equal(url.hostname, '127.0.0.1')
  assert.equal((await http(`${url.origin}/`)).status, 404)
  assert.equal((await http(`${url.origin}/metrics/extra`)).status, 404)
  const post = await http(url.href, 'POST')
  assert.equal(post.status, 405)
  assert.equal((await http(`${url.href}?name[]=x`)).status, 200)
  assert.equal((await http(url.href, 'HEAD')).status, 405)
  // Not reachable on the machine's other addresses.
  const lan = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)
  if (lan) await assert.rejects(http(`http://${lan.address}:${url.port}/metrics`), /ECONNREFUSED/)
  assert.equal(await carol.proc.stop(), 0)
})

test('bad --metrics values exit with a one-line usage error', async () => {
  const dir = await tempDir()
  const cases: Array<[string[], RegExp]> = [
    [['--metrics', '70000'], /--metrics must be an integer from 0 to 65535/],
    [['--metrics', 'prometheus'], /--metrics must be an integer/],
    [['--metrics', '-1'], /--metrics/],
    [['--metrics-host', '127.0.0.1'], /--metrics-host needs --metrics/],
    [['--metrics', '0', '--metrics-host', 'localhost.example'], /--metrics-host must be an IP address/]
  ]
  for (const [flags, message] of cases) {
    const r = await runCli(['serve', '--data-dir', dir, '--aor', 'sip:a@example.org', '--bootstrap', bootstrap, ...flags])
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
  }
})
