/// <reference lib="dom" />
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { Lab } from '../helpers/overlay.js'
import { CliProcess } from '../helpers/cli.js'
import { EVALUATE_SHIM, launchChromium } from '../helpers/browser.js'

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e')
let lab: Lab | null = null
let browser: Browser | null = null
after(async () => {
  await browser?.close()
  await lab?.destroy()
})

test('first run in web mode: choose an AOR, see the fingerprint, then the phone registers', async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  lab = await Lab.create(6)
  const dataDir = await lab.tempDir()
  const cli = CliProcess.start(['serve', '--data-dir', dataDir, '--bootstrap', lab.bootstrap.join(','), '--dht-host', '127.0.0.1', '--web', '0'])
  lab.onTeardown(async () => void (await cli.stop()))
  const web = await cli.waitFor((l) => l.event === 'web', 'web line')
  await cli.waitFor((l) => l.event === 'setup', 'setup line')
  browser = await launchChromium()
  const context = await browser.newContext()
  await context.addInitScript(EVALUATE_SHIM)
  const page = await context.newPage()

  // Without the token (the fragment) nothing opens.
  await page.goto(String(web.url).replace(/#.*/, ''))
  await page.getByRole('status').filter({ hasText: 'printed by' }).waitFor()
  assert.equal((await page.goto(new URL('/app/', String(web.url)).href))?.status(), 401)

  await page.goto(String(web.url))
  await page.getByTestId('setup-aor').fill('sip:heidi@example.org')
  await page.getByTestId('setup-name').fill('Heidi')
  await page.getByTestId('setup-submit').click()
  const fingerprint = (await page.getByTestId('fingerprint').textContent())?.trim()
  const ready = await cli.waitFor((l) => l.event === 'ready', 'ready line')
  assert.equal(ready.aor, 'sip:heidi@example.org')
  assert.equal(fingerprint, ready.fingerprint)
  await page.screenshot({ path: join(ARTIFACTS, 'first-run.png') })
  await page.getByTestId('setup-continue').click()
  await page.getByTestId('sip-registration').filter({ hasText: /^registered$/ }).waitFor({ timeout: 30_000 })
})
