import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setupLogFile } from '../../main/log-file.js'

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-logs-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function readAll(dir: string, files: string[]): Promise<string> {
  let text = ''
  for (const f of files) text += await readFile(join(dir, f), 'utf8')
  return text
}

/** The last JSON line (the newest file may be empty: rotation opens it before anything is written). */
function lastRecord(text: string): Record<string, number> {
  return JSON.parse(text.trim().split('\n').at(-1)!)
}

/** Let sonic-boom's writes and pino-roll's asynchronous clean-up run. */
const settle = () => new Promise((r) => setTimeout(r, 50))

test('logs go to userData/logs as JSON lines, rotated by size, with the number of files capped', async (t) => {
  const userData = await tmp(t)
  const dir = join(userData, 'logs')
  const logs = await setupLogFile({ dir, maxBytes: 4096, files: 3 })
  assert.equal(logs.dir, dir)
  const line = 'x'.repeat(200)
  for (let i = 0; i < 200; i++) {
    logs.log.info({ i }, line)
    if (i % 10 === 9) await settle()
  }
  await settle()
  await logs.close()
  await settle()
  const files = (await readdir(dir)).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
  assert.ok(files.length === 3 || files.length === 2, files.join(' '))
  for (const f of files) assert.match(f, /^parley\.\d+\.log$/)
  // ~60 kB were written, so many rotations happened; only the newest files remain.
  assert.ok(Number(files[0]!.split('.')[1]) > 5, files.join(' '))
  // A file is switched after the write that fills it: it ends within one batch of lines past the limit.
  for (const f of files.slice(0, -1)) assert.ok((await stat(join(dir, f))).size <= 2 * 4096, `${f} rotated near the limit`)
  assert.equal(lastRecord(await readAll(dir, files)).i, 199)
})

test('a restart continues the numbering and the cap counts the files left by earlier runs', async (t) => {
  const dir = join(await tmp(t), 'logs')
  for (let run = 0; run < 3; run++) {
    const logs = await setupLogFile({ dir, maxBytes: 2048, files: 2 })
    for (let i = 0; i < 30; i++) {
      logs.log.warn({ run, i }, 'y'.repeat(150))
      if (i % 10 === 9) await settle()
    }
    await settle()
    await logs.close()
    await logs.close()
  }
  await settle()
  const files = await readdir(dir)
  assert.ok(files.length === 2 || files.length === 1, files.join(' '))
  const byNumber = files.sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
  assert.ok(Number(byNumber[0]!.split('.')[1]) > 3, `numbering went on across runs: ${byNumber.join(' ')}`)
  assert.equal(lastRecord(await readAll(dir, byNumber)).run, 2)
})

test('raising the level at run time (parley diag log-level) reaches the file, and lowering it stops the lines', async (t) => {
  const dir = join(await tmp(t), 'logs')
  const logs = await setupLogFile({ dir, level: 'info' })
  logs.log.debug('before')
  logs.log.level = 'debug'
  logs.log.child({ component: 'sip' }).debug('during')
  logs.log.level = 'info'
  logs.log.debug('after')
  logs.log.info('end')
  await settle()
  await logs.close()
  await settle()
  const text = await readAll(dir, await readdir(dir))
  const messages = text.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)
  assert.deepEqual(messages, ['during', 'end'])
})
