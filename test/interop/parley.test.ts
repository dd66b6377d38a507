/**
 * Interop: sipp and baresip register to two Parley peers that reach each other
 * only through a local HyperDHT testnet. UAs at peer A call and message UAs at
 * peer B: A looks B's user up on the overlay and forwards over the encrypted
 * peer stream; B delivers to the registered phone.
 */
import { AccountStore } from '../../app/registrar/account-store.js'
import { Lab } from '../helpers/overlay.js'
import { interopSuite, USERS, type Registrars } from './suite.js'

const DOMAIN = 'example.org'

async function startRegistrars(): Promise<Registrars> {
  const lab = await Lab.create(8)
  const accounts = Object.fromEntries(USERS.map((u) => [u, { user: u, password: `pw-${u}-secret` }]))
  const peer = async (name: string) => {
    const dataDir = await lab.tempDir()
    const store = await AccountStore.open(dataDir)
    for (const a of Object.values(accounts)) await store.add({ aor: `sip:${a.user}@${DOMAIN}`, password: a.password })
    const p = await lab.peer(`sip:${name}@parley.test`, { dataDir, sip: { udp: 0, tcp: 0, dns: false } })
    const udp = p.status().sip.transports.find((t) => t.transport === 'UDP')
    if (!udp) throw new Error('no UDP transport')
    return { host: '127.0.0.1', port: udp.port }
  }
  const a = await peer('peer-a')
  const b = await peer('peer-b')
  return { a, b, domain: DOMAIN, accounts, close: () => lab.destroy() }
}

interopSuite('interop: sipp and baresip across two Parley peers over the overlay', startRegistrars)
