import HyperDHT from 'hyperdht'
import { parseHostPort } from './host-cache.js'

/**
 * HyperDHT's public list names each node `IP@host:port`, and dht-rpc pings
 * those IPs one after another before it bootstraps, each ping retried for about
 * 4 s when nothing answers: 12 s of start-up on a LAN with no way out. This
 * pings them all at once, without retries, first. An IP that answers is used as
 * is; one that does not leaves its hostname, which DNS may still resolve, as
 * dht-rpc would have tried next. Lists without `@` (testnets, private overlays)
 * are returned untouched, and no socket is opened for them.
 */
export async function preflightBootstrap(list: string[], host?: string): Promise<string[]> {
  if (!list.some((entry) => entry.includes('@'))) return list
  const probe = new HyperDHT({ bootstrap: [], ephemeral: true, host })
  try {
    await probe.ready()
    return await Promise.all(
      list.map(async (entry) => {
        const { host: name, port, suggested } = parseHostPort(entry)
        if (!suggested) return entry
        try {
          await probe.ping({ host: suggested, port }, { retry: false })
          return `${suggested}:${port}`
        } catch {
          return `${name}:${port}`
        }
      })
    )
  } finally {
    await probe.destroy()
  }
}
