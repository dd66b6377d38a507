import assert from 'node:assert/strict'
import { register } from 'node:module'
import { test } from 'node:test'
import { createElement as h } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { DiagReport } from '../../app/api/contract.js'

// The views import their stylesheets the Vite way; Node has no loader for CSS.
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function load(url, context, next) { return url.endsWith('.css') ? { format: 'module', source: '', shortCircuit: true } : next(url, context) }`
  )}`
)
const { DiagnosticsPanel } = await import('../../renderer/src/views/DiagnosticsPanel.js')

const key = (ch: string) => ch.repeat(64)
const textOf = (html: string, testId: string) => new RegExp(`data-testid="${testId}"[^>]*>([^<]*)<`).exec(html)?.[1]

// Checked against the contract's schema, so the fixture is a report the peer could send.
const report = DiagReport.parse({
  publicKey: key('a'),
  aor: 'sip:alice@example.org',
  at: '2026-12-03T10:00:00.000Z',
  logLevel: 'debug',
  neighbours: [
    { publicKey: key('b'), aor: 'sip:bob@example.org', address: '127.0.0.1:40000', direction: 'out', since: '2026-12-03T09:59:00.000Z' },
    { publicKey: key('c'), aor: null, address: null, direction: 'in', since: '2026-12-03T09:58:00.000Z' }
  ],
  store: {
    dht: { persistent: true, announcements: 12, topics: 5, mutables: 1, immutables: 2, forwards: 0 },
    mailbox: { active: true, mailboxes: 3, envelopes: 17, bytes: 4096, blobs: 1 },
    registrar: { aors: 1, bindings: 2 },
    messages: { received: 4, sent: 6 },
    voicemails: { received: 0, sent: 1 }
  },
  lookups: [{ aor: 'sip:bob@example.org', reason: 'message', startedAt: '2026-12-03T09:59:00.000Z', durationMs: 64, hopsToFirstRecord: 2, keys: 1, contacted: 9, failed: 1 }]
})

test('the diagnostics panel: neighbours, store counts, recent lookups and the log level', () => {
  const html = renderToStaticMarkup(h(DiagnosticsPanel, { report }))
  assert.equal(textOf(html, 'diag-neighbour-count'), '2')
  const neighbours = [...html.matchAll(/data-testid="diag-neighbour">(.*?)<\/li>/g)].map((m) => m[1]!)
  assert.equal(neighbours.length, 2)
  assert.match(neighbours[0]!, /^→ sip:bob@example\.org.*127\.0\.0\.1:40000/)
  assert.match(neighbours[1]!, /^← <code title="c{64}">c{12}…<\/code>/)
  assert.equal(textOf(html, 'diag-dht'), '12 announcements on 5 topics, 3 values')
  assert.equal(textOf(html, 'diag-mailboxes'), '3 held, 17 letters')
  assert.equal(textOf(html, 'diag-messages'), '4 received · 6 sent')
  assert.match(html, /data-testid="diag-lookup">.*<strong>sip:bob@example\.org<\/strong> \(message\): 1 key in 64 ms, 9 nodes asked, 1 failed, first record at hop 2/)
  // Without an API (rendered alone) the selector shows the level but cannot change it.
  assert.match(html, /<select id="diag-log-level" data-testid="diag-log-level" disabled="">/)
  assert.match(html, /<option value="debug" selected="">debug<\/option>/)
  assert.equal([...html.matchAll(/<option value="(\w+)"/g)].length, 7)
})

test('the diagnostics panel: a client with nothing held, no streams and no lookups says so', () => {
  const idle = DiagReport.parse({
    ...report,
    logLevel: 'info',
    neighbours: [],
    lookups: [],
    store: { ...report.store!, dht: { persistent: false, announcements: 0, topics: 0, mutables: 0, immutables: 0, forwards: 0 }, mailbox: { active: false, mailboxes: 0, envelopes: 0, bytes: 0, blobs: 0 } }
  })
  const html = renderToStaticMarkup(h(DiagnosticsPanel, { report: idle }))
  assert.match(html, /No open peer streams\./)
  assert.match(html, /None yet\./)
  assert.equal(textOf(html, 'diag-dht'), 'none: not a persistent DHT node')
  assert.equal(textOf(html, 'diag-mailboxes'), 'none: not a holder')
  assert.match(html, /<option value="info" selected="">/)
})
