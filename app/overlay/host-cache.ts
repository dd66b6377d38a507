import { join } from 'node:path'
import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../store/json-file.js'

const HostCacheFile = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  nodes: z.array(z.object({ host: z.string().max(255), port: z.number().int().min(1).max(65535) })).max(1000)
})

export type HostAddress = { host: string; port: number }

export const HOST_CACHE_FILE = 'host-cache.json'
const MAX_CACHED = 64

/**
 * Known good DHT nodes, saved so the next start has bootstrap candidates even
 * when the configured bootstrap nodes are gone (Skype's host cache). A corrupt
 * cache is ignored, not fatal: it is only a hint.
 */
export class HostCache {
  readonly path: string

  constructor(dataDir: string) {
    this.path = join(dataDir, HOST_CACHE_FILE)
  }

  async load(): Promise<{ nodes: HostAddress[]; error?: string }> {
    try {
      return { nodes: (await readJsonFile(this.path, HostCacheFile))?.nodes ?? [] }
    } catch (err) {
      return { nodes: [], error: (err as Error).message }
    }
  }

  async save(nodes: HostAddress[]): Promise<void> {
    if (nodes.length === 0) return // never replace a useful cache with an empty one
    await writeJsonFile(this.path, { version: 1, savedAt: new Date().toISOString(), nodes: nodes.slice(0, MAX_CACHED) })
  }
}

/** `HOST:PORT`, or HyperDHT's `IP@HOST:PORT` (a suggested IP for a named node). */
export function parseHostPort(input: string): HostAddress & { suggested?: string } {
  const m = /^(?:([^@\s]+)@)?\[?([A-Za-z0-9.\-:]+?)\]?:(\d{1,5})$/.exec(input.trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || port < 1 || port > 65535) throw new Error(`not a HOST:PORT address: ${JSON.stringify(input)}`)
  return m[1] ? { host: m[2] as string, port, suggested: m[1] } : { host: m[2] as string, port }
}
