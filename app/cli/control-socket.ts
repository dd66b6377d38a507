import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ParleyError } from '../errors.js'

/**
 * Where the control socket of the peer on `dataDir` lives: a Unix socket inside
 * the (owner-only) data directory, or a named pipe on Windows. Unix socket paths
 * are limited to ~104 bytes, so long data directories use a hashed name in tmp.
 */
export function controlSocketPath(dataDir: string): string {
  const abs = resolve(dataDir)
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 16)
  if (process.platform === 'win32') return `\\\\.\\pipe\\parley-${hash}`
  const inside = join(abs, 'control.sock')
  return Buffer.byteLength(inside) < 100 ? inside : join(tmpdir(), `parley-${hash}.sock`)
}

/** True when something accepts connections on the socket (a live peer). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
}

/** Refuse a data directory a live peer (`parley serve` or the desktop app) already runs on, before touching the DHT. */
export async function refuseIfRunning(dataDir: string): Promise<void> {
  if (await socketAnswers(controlSocketPath(dataDir))) throw ParleyError.DATA_DIR_IN_USE(dataDir)
}
