import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  MAX_EXTERNAL_URL_LENGTH,
  createExternalLinkOpener,
  decideExternalOpen,
  decideNavigation,
  decideWindowOpen,
  type NavigationAsk,
  type WindowOpenAsk
} from '../../main/external-links.js'

const appOrigin = 'app://parley'
const page = 'app://parley/app/index.html'

test('well-formed http(s) links are opened, as the parser normalised them', () => {
  const cases: [string, string][] = [
    ['https://example.com/', 'https://example.com/'],
    ['http://example.com', 'http://example.com/'],
    ['https://example.com/a/b?q=1&r=2#frag', 'https://example.com/a/b?q=1&r=2#frag'],
    ['HTTPS://Example.COM/Path', 'https://example.com/Path'],
    ['https://example.com:8443/x', 'https://example.com:8443/x'],
    ['https://bücher.example/ä%20ö', 'https://xn--bcher-kva.example/%C3%A4%20%C3%B6'],
    ['https://[2001:db8::1]/', 'https://[2001:db8::1]/']
  ]
  for (const [url, opened] of cases) assert.deepEqual(decideExternalOpen(url), { open: true, url: opened }, url)
})

test('everything that is not a plain http(s) link is refused', () => {
  const refused = [
    'file:///etc/passwd',
    'file://server/share/x.exe',
    'smb://server/share',
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox',
    'ms-msdt:/id PCWDiagnostic',
    'search-ms:query=x',
    'mailto:a@example.com',
    'sip:alice@example.com',
    'tel:+15551234',
    'app://parley/app/index.html',
    'about:blank',
    'chrome://settings',
    'ftp://example.com/',
    'ws://example.com/',
    'https://user:pass@example.com/',
    'https://user@example.com/',
    'https://:pass@example.com/',
    'http:/example.com',
    'https:example.com',
    'https://',
    'https:///path',
    ' https://example.com/',
    'https://example.com/ ',
    'https://exa\tmple.com/',
    'https://example.com/\n',
    'https://example.com/\u0000',
    'https://example.com/\u202e',
    '\u202ehttps://example.com/',
    'https://example.com\\@evil.example/',
    'https://example.com/' + 'a'.repeat(MAX_EXTERNAL_URL_LENGTH),
    'not a url',
    ''
  ]
  for (const url of refused) assert.equal(decideExternalOpen(url).open, false, JSON.stringify(url))
  assert.equal(decideExternalOpen(42 as unknown as string).open, false)
  assert.equal(decideExternalOpen(undefined as unknown as string).open, false)
})

test('new windows: never created; a link the app page opens in a new window goes to the browser', () => {
  const ask: WindowOpenAsk = { url: 'https://example.com/', disposition: 'foreground-tab', openerUrl: page, appOrigin }
  const cases: [string, Partial<WindowOpenAsk>, string | null][] = [
    ['target=_blank link', {}, 'https://example.com/'],
    ['middle click', { disposition: 'background-tab' }, 'https://example.com/'],
    ['shift click', { disposition: 'new-window' }, 'https://example.com/'],
    ['from another origin', { openerUrl: 'https://evil.example/' }, null],
    ['from a file page', { openerUrl: 'file:///tmp/x.html' }, null],
    ['from a look-alike origin', { openerUrl: 'app://parley.evil/' }, null],
    ['save-to-disk', { disposition: 'other' }, null],
    ['javascript: URL', { url: 'javascript:alert(1)' }, null],
    ['file: URL', { url: 'file:///etc/passwd' }, null],
    ['the app itself', { url: page }, null],
    ['about:blank', { url: 'about:blank' }, null]
  ]
  for (const [name, change, opened] of cases) {
    assert.deepEqual(decideWindowOpen({ ...ask, ...change }), opened === null ? { action: 'deny' } : { action: 'deny', openExternal: opened }, name)
  }
})

test('navigation: the app page may move within its origin; a clicked http(s) link goes to the browser; the rest is blocked', () => {
  const ask: NavigationAsk = { url: 'app://parley/app/index.html#/call', isMainFrame: true, currentUrl: page, appOrigin }
  const cases: [string, Partial<NavigationAsk>, ReturnType<typeof decideNavigation>][] = [
    ['in-app (hash, reload)', {}, { action: 'allow' }],
    ['first load with no page yet', { currentUrl: '' }, { action: 'allow' }],
    ['plain link out', { url: 'https://example.com/' }, { action: 'deny', openExternal: 'https://example.com/' }],
    ['link out from a foreign page', { url: 'https://example.com/', currentUrl: 'https://evil.example/' }, { action: 'deny' }],
    ['in a subframe', { isMainFrame: false }, { action: 'deny' }],
    ['link out in a subframe', { url: 'https://example.com/', isMainFrame: false }, { action: 'deny' }],
    ['to a file', { url: 'file:///etc/passwd' }, { action: 'deny' }],
    ['to javascript:', { url: 'javascript:alert(1)' }, { action: 'deny' }],
    ['to data:', { url: 'data:text/html,x' }, { action: 'deny' }],
    ['to a look-alike app host', { url: 'app://parley.evil/app/index.html' }, { action: 'deny' }],
    ['to another app host', { url: 'app://evil/app/index.html' }, { action: 'deny' }],
    ['to about:blank', { url: 'about:blank' }, { action: 'deny' }],
    ['to credentials', { url: 'https://user:pw@example.com/' }, { action: 'deny' }],
    ['to garbage', { url: 'not a url' }, { action: 'deny' }]
  ]
  for (const [name, change, expected] of cases) assert.deepEqual(decideNavigation({ ...ask, ...change }), expected, name)
})

test('the opener hands allowed links to the OS at most once a second', async () => {
  const opened: string[] = []
  let now = 10_000
  const open = createExternalLinkOpener({ openExternal: async (url) => void opened.push(url), now: () => now, minIntervalMs: 1000 })
  assert.equal(open('https://example.com/a'), true)
  assert.equal(open('https://example.com/b'), false) // a burst from a misbehaving page
  now += 999
  assert.equal(open('https://example.com/c'), false)
  now += 1
  assert.equal(open('https://example.com/d'), true)
  now += 5000
  assert.equal(open('file:///etc/passwd'), false) // decided again here, whatever the caller checked
  assert.deepEqual(opened, ['https://example.com/a', 'https://example.com/d'])
})

test('the opener reports a failure of the OS call instead of throwing', async () => {
  const failures: unknown[] = []
  const open = createExternalLinkOpener({
    openExternal: () => Promise.reject(new Error('no browser')),
    onError: (err) => void failures.push(err),
    now: () => 0
  })
  assert.equal(open('https://example.com/'), true)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(failures.length, 1)
})
