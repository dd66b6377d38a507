/**
 * A small internet out of network namespaces (picture and addresses in
 * test/lab/README.md):
 *
 *  - an `internet` namespace routes between the public segment
 *    203.0.113.0/24 (a bridge, gateway 203.0.113.1) and one point-to-point
 *    link per NAT router (router WAN 198.51.100.N, internet side 198.51.100.254);
 *  - `public` and `none` hosts sit on the public segment at 203.0.113.(10+i):
 *    `public` for servers (DHT bootstrap, relays, super-nodes), `none` for a
 *    client with a public address and no NAT;
 *  - a `cone` or `symmetric` host N sits alone on its LAN 10.0.N.0/24 as
 *    10.0.N.2 behind its router 10.0.N.1, which masquerades to its WAN address:
 *    cone = `MASQUERADE` (endpoint-independent mapping, port kept when free),
 *    symmetric = `MASQUERADE --random` (a new source port per destination).
 *
 * The internet looks "long" to HyperDHT: forwarded packets with TTL < 7 are
 * dropped and the rest lose 6 hops, so HyperDHT's TTL-5 hole-punch packets
 * open the sender's own NAT but never reach the other side's router (where
 * they would create a conntrack entry that steals the mapping the punch is
 * meant to use). Only 203.0.113.0/24 and 198.51.100.0/24 (documentation
 * ranges) and 10.0.0.0/16 are used; nothing here is routable outside the lab.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import {
  addAddress,
  addBridge,
  addRoute,
  addVethPair,
  attachToBridge,
  cleanupStale,
  createNamespace,
  destroyNamespace,
  enableForwarding,
  exec,
  iptables,
  newPrefix,
  requireLab,
  setSysctl,
  spawnIn
} from './netns.js'

export type NatKind = 'public' | 'none' | 'cone' | 'symmetric'

export interface HostSpec {
  /** lower-case letters, digits, '-'; part of the namespace name */
  name: string
  nat: NatKind
}

export interface LabHost {
  name: string
  nat: NatKind
  /** the host's network namespace */
  ns: string
  /** the host's own IPv4 address (10.0.N.2 behind a NAT, else 203.0.113.x) */
  address: string
  /** the address the internet sees: the router's WAN address behind a NAT, else `address` */
  publicAddress: string
  /** the NAT router, for cone/symmetric hosts */
  router: { ns: string; wan: string; lan: string } | null
  /** `spawnIn(ns, …)` */
  spawn(cmd: string, args?: string[], opts?: SpawnOptions): ChildProcess
  /** `exec(ns, …)` */
  exec(cmd: string, args?: string[]): Promise<string>
}

export interface Topology {
  hosts: Map<string, LabHost>
  /** the internet router namespace */
  internet: string
  /** the host named `name`; throws if unknown */
  host(name: string): LabHost
  /** kills everything running in the lab and deletes its namespaces (idempotent) */
  close(): Promise<void>
}

export interface TopologyOptions {
  hosts: HostSpec[]
  /** drop forwarded TTL < 7 and lower the rest by 6 in the internet namespace (default true; see README) */
  longInternet?: boolean
}

export const PUBLIC_NET = '203.0.113'
export const PUBLIC_GATEWAY = `${PUBLIC_NET}.1`
export const WAN_NET = '198.51.100'
export const WAN_GATEWAY = `${WAN_NET}.254`
const MAX_NAT = 200
const MAX_PUBLIC = 200

export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  await requireLab()
  const names = new Set<string>()
  for (const h of opts.hosts) {
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(h.name)) throw new Error(`host name ${JSON.stringify(h.name)}: lower-case letters, digits, '-'`)
    if (names.has(h.name)) throw new Error(`duplicate host name ${h.name}`)
    if (!['public', 'none', 'cone', 'symmetric'].includes(h.nat)) throw new Error(`host ${h.name}: unknown nat ${String(h.nat)}`)
    names.add(h.name)
  }
  const natHosts = opts.hosts.filter((h) => h.nat === 'cone' || h.nat === 'symmetric')
  const publicHosts = opts.hosts.filter((h) => h.nat === 'public' || h.nat === 'none')
  if (natHosts.length > MAX_NAT || publicHosts.length > MAX_PUBLIC) throw new Error('too many hosts for the lab address plan')

  await cleanupStale()
  const prefix = await newPrefix()
  const namespaces: string[] = []
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    // hosts first (they run the processes), then routers, then the internet
    for (const ns of namespaces.reverse()) await destroyNamespace(ns).catch(() => {})
  }
  const ns = async (name: string) => {
    const full = await createNamespace(prefix + name)
    namespaces.push(full)
    return full
  }

  try {
    const internet = await ns('internet')
    await enableForwarding(internet)
    await addBridge(internet, 'br0')
    await addAddress(internet, 'br0', `${PUBLIC_GATEWAY}/24`)
    // The bridge is the public segment's switch: keep bridged frames out of iptables.
    await setSysctl(internet, 'net.bridge.bridge-nf-call-iptables', '0').catch(() => {})
    if (opts.longInternet !== false) {
      await iptables(internet, 'mangle', ['-A', 'FORWARD', '-m', 'ttl', '--ttl-lt', '7', '-j', 'DROP'])
      await iptables(internet, 'mangle', ['-A', 'FORWARD', '-j', 'TTL', '--ttl-dec', '6'])
    }

    const hosts = new Map<string, LabHost>()
    const make = (spec: HostSpec, hostNs: string, address: string, publicAddress: string, router: LabHost['router']): LabHost => ({
      name: spec.name,
      nat: spec.nat,
      ns: hostNs,
      address,
      publicAddress,
      router,
      spawn: (cmd, args = [], o = {}) => spawnIn(hostNs, cmd, args, o),
      exec: (cmd, args = []) => exec(hostNs, cmd, args)
    })

    // Namespaces are created one after the other (cheap), links in parallel per host.
    const jobs: Array<Promise<void>> = []
    for (const [i, spec] of publicHosts.entries()) {
      const hostNs = await ns(`h-${spec.name}`)
      const address = `${PUBLIC_NET}.${10 + i}`
      hosts.set(spec.name, make(spec, hostNs, address, address, null))
      jobs.push((async () => {
        await addVethPair(internet, `p${i}`, hostNs, 'eth0')
        await attachToBridge(internet, `p${i}`, 'br0')
        await addAddress(hostNs, 'eth0', `${address}/24`)
        await addRoute(hostNs, 'default', { via: PUBLIC_GATEWAY })
      })())
    }
    for (const [i, spec] of natHosts.entries()) {
      const n = i + 1
      const routerNs = await ns(`r-${spec.name}`)
      const hostNs = await ns(`h-${spec.name}`)
      const wan = `${WAN_NET}.${n}`
      const lanGw = `10.0.${n}.1`
      const address = `10.0.${n}.2`
      hosts.set(spec.name, make(spec, hostNs, address, wan, { ns: routerNs, wan, lan: lanGw }))
      jobs.push((async () => {
        await addVethPair(internet, `w${n}`, routerNs, 'wan')
        await addAddress(internet, `w${n}`, `${WAN_GATEWAY}/32`, `${wan}/32`)
        await addAddress(routerNs, 'wan', `${wan}/32`, `${WAN_GATEWAY}/32`)
        await addRoute(routerNs, 'default', { via: WAN_GATEWAY, dev: 'wan' })
        await addVethPair(routerNs, 'lan', hostNs, 'eth0')
        await addAddress(routerNs, 'lan', `${lanGw}/24`)
        await addAddress(hostNs, 'eth0', `${address}/24`)
        await addRoute(hostNs, 'default', { via: lanGw })
        await enableForwarding(routerNs)
        const masquerade = ['-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE']
        if (spec.nat === 'symmetric') masquerade.push('--random')
        await iptables(routerNs, 'nat', masquerade)
        // Like a home router: unsolicited packets to the WAN address are dropped. Accepting
        // them would confirm a conntrack entry that steals the mapping a later outgoing packet
        // (an ICE check, a punch) needs, so cone↔cone could never go direct.
        await iptables(routerNs, 'filter', ['-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'NEW,INVALID', '-j', 'DROP'])
      })())
    }
    const results = await Promise.allSettled(jobs)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason

    return {
      hosts,
      internet,
      host(name) {
        const h = hosts.get(name)
        if (!h) throw new Error(`no lab host ${name}`)
        return h
      },
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}
