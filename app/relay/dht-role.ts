import type HyperDHT from 'hyperdht'

/**
 * Switching a running HyperDHT node between ephemeral (a client: routes nothing,
 * stores nothing) and persistent (a full DHT node others route through and store
 * records on). HyperDHT only does this by itself, adaptively after ~20 minutes; the
 * DHT is created with `adaptive: false` and Parley's promotion policy decides.
 * Uses dht-rpc internals (`_updateNetworkState`, `io.ephemeral`), which is why it
 * lives alone here: pinned hyperdht 6 / dht-rpc 6, checked by test/app/relay-policy.
 */
interface DhtInternals {
  ephemeral: boolean
  firewalled: boolean
  io: { ephemeral: boolean }
  _updateNetworkState(onlyFirewall?: boolean): Promise<boolean>
  emit(event: string): boolean
}

/**
 * Ask other nodes to ping our server socket (dht-rpc's firewall probe): true when
 * they got through, i.e. this node is reachable from outside. A non-adaptive DHT
 * only probes once while bootstrapping, and that quick probe often misses.
 */
export async function checkReachable(dht: HyperDHT): Promise<boolean> {
  const d = dht as unknown as DhtInternals
  if (!d.firewalled) return true
  if (!d.ephemeral) return false
  await d._updateNetworkState(true)
  return !d.firewalled
}

/** Become a persistent node: re-checks that others can reach us, takes a routable id. */
export async function becomePersistent(dht: HyperDHT): Promise<boolean> {
  const d = dht as unknown as DhtInternals
  if (!d.ephemeral) return true
  if (d.firewalled) return false
  return d._updateNetworkState()
}

/** Step back to ephemeral: other nodes drop us from their tables and re-home records on refresh. */
export function becomeEphemeral(dht: HyperDHT): void {
  const d = dht as unknown as DhtInternals
  if (d.ephemeral) return
  d.ephemeral = d.io.ephemeral = true
  d.emit('ephemeral')
}
