import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Protocol } from 'electron'
import { DEFAULT_APP_ORIGIN, originOf } from '../../main/permissions.js'
import {
  APP_CSP,
  APP_ENTRY_URL,
  APP_SCHEME,
  createAppProtocolHandler,
  registerAppScheme,
  setupAppProtocol,
  type AppRequest
} from '../../main/app-protocol.js'

// Compile-time only: Electron's protocol module fits the structural types the setup functions take.
export const _fits: [(p: Protocol) => Parameters<typeof registerAppScheme>[0], (p: Protocol) => Parameters<typeof setupAppProtocol>[0]] = [
  (p) => p,
  (p) => p
]

const SECRET = 'SECRET-OUTSIDE-THE-APP'
const INDEX = '<!doctype html><title>Parley</title><script type="module" src="/app/assets/app.js"></script>'
let base: string
let root: string
let handler: (request: AppRequest) => Promise<Response>

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'parley-app-protocol-'))
  root = join(base, 'renderer')
  await mkdir(join(root, 'assets'), { recursive: true })
  await writeFile(join(root, 'index.html'), INDEX)
  await writeFile(join(root, 'assets', 'app.js'), 'console.log(1)')
  await writeFile(join(root, 'assets', 'app.css'), 'body{}')
  await writeFile(join(root, 'assets', 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  await writeFile(join(root, 'assets', 'blob.xyz'), 'opaque')
  await writeFile(join(root, 'assets', 'naïve.txt'), 'unicode name')
  await writeFile(join(root, '.env'), SECRET)
  await writeFile(join(root, 'stream:name.txt'), SECRET) // an alternate data stream on Windows
  // Outside the root: a sibling directory, and one whose name has the root as a prefix.
  await mkdir(join(base, 'outside'))
  await writeFile(join(base, 'outside', 'secret.txt'), SECRET)
  await mkdir(join(base, 'renderer-evil'))
  await writeFile(join(base, 'renderer-evil', 'secret.txt'), SECRET)
  await writeFile(join(base, 'secret.txt'), SECRET)
  // Links: out of the root (file and directory) must not be followed; inside is fine.
  await symlink(join(base, 'outside', 'secret.txt'), join(root, 'assets', 'leak.txt'))
  await symlink(join(base, 'outside'), join(root, 'escape'))
  await symlink(join(root, 'assets', 'app.css'), join(root, 'assets', 'alias.css'))
  handler = createAppProtocolHandler({ root })
})
after(() => rm(base, { recursive: true, force: true }))

const get = (url: string) => handler({ url, method: 'GET' })

function assertHardened(res: Response, url: string): void {
  assert.equal(res.headers.get('content-security-policy'), APP_CSP, `CSP on ${url}`)
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `nosniff on ${url}`)
}

test('the entry page and assets are served with their MIME type, the CSP and nosniff', async () => {
  const cases: [string, string, string][] = [
    [APP_ENTRY_URL, 'text/html; charset=utf-8', INDEX],
    ['app://parley/app/assets/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['app://parley/app/assets/app.css', 'text/css; charset=utf-8', 'body{}'],
    ['app://parley/app/assets/icon.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['app://parley/app/assets/blob.xyz', 'application/octet-stream', 'opaque'],
    ['app://parley/app/assets/na%C3%AFve.txt', 'text/plain; charset=utf-8', 'unicode name'],
    // A link that stays inside the root is followed.
    ['app://parley/app/assets/alias.css', 'text/css; charset=utf-8', 'body{}'],
    // Query and fragment are not part of the file.
    ['app://parley/app/index.html?view=call#x', 'text/html; charset=utf-8', INDEX]
  ]
  for (const [url, type, body] of cases) {
    const res = await get(url)
    assert.equal(res.status, 200, url)
    assert.equal(res.headers.get('content-type'), type, url)
    assertHardened(res, url)
    assert.equal(await res.text(), body, url)
  }
})

test('the bare origin and the base map to the entry page', async () => {
  for (const url of ['app://parley', 'app://parley/', 'app://parley/app', 'app://parley/app/']) {
    const res = await get(url)
    assert.equal(res.status, 200, url)
    assert.equal(await res.text(), INDEX, url)
    assertHardened(res, url)
  }
})

test('missing files, directories and paths outside the base are 404 with the CSP', async () => {
  for (const url of [
    'app://parley/app/nope.js',
    'app://parley/app/assets',
    'app://parley/app/assets/',
    'app://parley/app/assets/app.js/',
    'app://parley/index.html',
    'app://parley/assets/app.js',
    'app://parley/application/index.html',
    'app://parley/apps/index.html',
    'app://parley/xyz/index.html'
  ]) {
    const res = await get(url)
    assert.equal(res.status, 404, url)
    assertHardened(res, url)
  }
})

test('only GET is answered', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'get', '']) {
    const res = await handler({ url: APP_ENTRY_URL, method })
    assert.equal(res.status, 405, method)
    assert.equal(res.headers.get('allow'), 'GET')
    assertHardened(res, method)
  }
})

test('only the app host on the app scheme is answered', async () => {
  for (const url of [
    'app://evil/app/index.html',
    'app://parley.evil/app/index.html',
    'app://parley:8080/app/index.html',
    'app://user@parley/app/index.html',
    'app://user:pw@parley/app/index.html',
    'app:///app/index.html',
    'app:/app/index.html',
    'apps://parley/app/index.html',
    'http://parley/app/index.html',
    'file:///etc/passwd',
    `file://${join(root, 'index.html')}`,
    'not a url',
    ''
  ]) {
    const res = await get(url)
    assert.ok(res.status === 400 || res.status === 404, `${url}: ${res.status}`)
    assertHardened(res, url)
  }
})

test('hostile paths never leave the root', async () => {
  const hostile = [
    'app://parley/app/../secret.txt',
    'app://parley/app/../../secret.txt',
    'app://parley/app/%2e%2e/secret.txt',
    'app://parley/app/%2E%2E/%2e%2e/secret.txt',
    'app://parley/app/.%2e/secret.txt',
    'app://parley/app/%2e%2e%2fsecret.txt',
    'app://parley/app/%2e%2e%2f%2e%2e%2fsecret.txt',
    'app://parley/app/assets/..%2f..%2f..%2fsecret.txt',
    'app://parley/app/..%2f..%2fouptside%2fsecret.txt',
    'app://parley/app/..%5c..%5csecret.txt',
    'app://parley/app/..\\..\\secret.txt',
    'app://parley/app/assets\\..\\..\\secret.txt',
    'app://parley/app/%252e%252e/secret.txt',
    'app://parley/app/%c0%ae%c0%ae/secret.txt',
    'app://parley/app/%uff0e%uff0e/secret.txt',
    'app://parley/app/\uff0e\uff0e/secret.txt',
    'app://parley/app/../renderer-evil/secret.txt',
    'app://parley/app/%2e%2e/renderer-evil/secret.txt',
    `app://parley/app/${encodeURIComponent(join(base, 'secret.txt'))}`,
    `app://parley/app/${join(base, 'secret.txt')}`,
    `app://parley/app//${join(base, 'secret.txt')}`,
    'app://parley/app/%2fetc%2fpasswd',
    'app://parley/app//etc/passwd',
    'app://parley/app/C:%5CWindows%5Cwin.ini',
    'app://parley/app/C:/Windows/win.ini',
    'app://parley/app/index.html%00.js',
    'app://parley/app/index.html\u0000.js',
    'app://parley/app/assets/app.js%0a',
    'app://parley/app/.env',
    'app://parley/app/stream%3Aname.txt',
    // The URL parser drops tabs and newlines: the raw URL is checked before it.
    'app://parley/app/ind\tex.html',
    'app://parley/app/index.ht\nml',
    'app://parley/app/%2eenv',
    'app://parley/app/assets/leak.txt',
    'app://parley/app/escape/secret.txt',
    'app://parley/app/assets/%E0%A4%A',
    'app://parley/app/%',
    `app://parley/app/${'a/'.repeat(5000)}index.html`,
    `app://parley/app/${'%2e%2e/'.repeat(2000)}secret.txt`,
    `app://parley/app/${'x'.repeat(300)}.js`,
    `app://parley/app/${`${'y'.repeat(200)}/`.repeat(12)}index.html`
  ]
  for (const url of hostile) {
    const res = await get(url)
    const body = await res.text()
    assert.ok(res.status >= 400 && res.status < 500, `${url.slice(0, 80)}: ${res.status}`)
    assert.ok(!body.includes(SECRET), `${url.slice(0, 80)} leaked`)
    assertHardened(res, url.slice(0, 80))
  }
  // Refused for its length alone, before any parsing or file system access.
  const long = await get(`app://parley/app/${`${'y'.repeat(200)}/`.repeat(12)}index.html`)
  assert.equal(long.status, 414)
})

test('the CSP is default-deny, scripts only from the app, no inline or eval, no network', () => {
  const directives = new Map(
    APP_CSP.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/)
      return [name!, values] as const
    })
  )
  assert.deepEqual(directives.get('default-src'), ["'none'"])
  assert.deepEqual(directives.get('script-src'), ["'self'"])
  assert.deepEqual(directives.get('style-src'), ["'self'"])
  assert.deepEqual(directives.get('object-src'), ["'none'"])
  assert.deepEqual(directives.get('base-uri'), ["'none'"])
  assert.deepEqual(directives.get('form-action'), ["'none'"])
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"])
  // The SIP and API traffic goes over IPC in the desktop app: nothing to connect to but itself.
  assert.deepEqual(directives.get('connect-src'), ["'self'"])
  // Voicemail playback uses blob: URLs (renderer/src/views/Voicemail.tsx).
  assert.ok(directives.get('media-src')?.includes('blob:'))
  for (const word of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", '*', 'ws:', 'wss:', 'http:', 'https:', 'file:', 'data:']) {
    for (const [name, values] of directives) {
      if (name === 'img-src' && word === 'data:') continue // the page's empty favicon is `data:,`
      assert.ok(!values.includes(word), `${name} allows ${word}`)
    }
  }
})

test('the scheme is registered as a privileged standard, secure scheme that does not bypass the CSP', () => {
  const calls: unknown[] = []
  registerAppScheme({ registerSchemesAsPrivileged: (schemes) => void calls.push(schemes) })
  assert.deepEqual(calls, [
    [{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]
  ])
})

test('setupAppProtocol handles the app scheme with the handler over the given root', async () => {
  const handled: [string, (r: Request) => Promise<Response> | Response][] = []
  setupAppProtocol({ handle: (scheme, fn) => void handled.push([scheme, fn]) }, root)
  assert.equal(handled.length, 1)
  assert.equal(handled[0]![0], 'app')
  const res = await handled[0]![1](new Request(APP_ENTRY_URL))
  assert.equal(res.status, 200)
  assert.equal(await res.text(), INDEX)
})

test('the real renderer build is served whole: every script and stylesheet of its page resolves', async () => {
  const dist = fileURLToPath(new URL('../../dist/renderer', import.meta.url))
  const real = createAppProtocolHandler({ root: dist })
  const page = await real({ url: APP_ENTRY_URL, method: 'GET' })
  assert.equal(page.status, 200, 'dist/renderer/index.html (run npm run build:renderer)')
  const html = await page.text()
  // script-src 'self' with no 'unsafe-inline': every script must be a file of the app.
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline script in the built page')
  assert.doesNotMatch(html, /<style|\sstyle=/i, 'inline style in the built page')
  const refs = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((r) => !r.startsWith('data:'))
  assert.ok(refs.length >= 2, `expected a script and a stylesheet in ${html}`)
  for (const ref of refs) {
    assert.ok(ref.startsWith('/app/'), `${ref} is outside the base`)
    const res = await real({ url: `app://parley${ref}`, method: 'GET' })
    assert.equal(res.status, 200, ref)
    assert.match(res.headers.get('content-type') ?? '', /^(text\/javascript|text\/css)/, ref)
  }
  // Nothing the build emits is an unknown type.
  for (const name of await readdir(join(dist, 'assets'))) {
    const res = await real({ url: `app://parley/app/assets/${encodeURIComponent(name)}`, method: 'GET' })
    assert.notEqual(res.headers.get('content-type'), 'application/octet-stream', name)
    assert.equal(Buffer.compare(Buffer.from(await res.arrayBuffer()), await readFile(join(dist, 'assets', name))), 0, name)
  }
})

test('the entry page is on the origin the permission and IPC checks trust', () => {
  assert.equal(originOf(APP_ENTRY_URL), DEFAULT_APP_ORIGIN)
})
