import { mkdir, open, readFile, rename, chmod } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { z } from 'zod'
import { ParleyError } from '../errors.js'

/** Create a data directory readable by its owner only. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
}

/**
 * Read and validate a JSON file. A missing file gives `undefined`; a file that
 * does not parse or match the schema throws DATA_CORRUPT and is never rewritten,
 * so a user can recover it by hand.
 */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw ParleyError.DATA_CORRUPT(path, (err as Error).message)
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw ParleyError.DATA_CORRUPT(path, `${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  return parsed.data
}

/** Write JSON atomically (temp file, fsync, rename) with owner-only permissions. */
export async function writeJsonFile(path: string, value: unknown, mode = 0o600): Promise<void> {
  await ensurePrivateDir(dirname(path))
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  const file = await open(tmp, 'w', mode)
  try {
    await file.writeFile(JSON.stringify(value, null, 2) + '\n')
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, path)
}
