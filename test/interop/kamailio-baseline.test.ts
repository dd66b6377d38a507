/**
 * Interop baseline: the real-tool suite against Kamailio as registrar +
 * record-routing proxy (bench/kamailio/registrar.cfg). With Kamailio, a and b
 * are the same server. If this fails, the tools or the machine are at fault,
 * not Parley.
 */
import { startKamailio } from './tools.js'
import { interopSuite, USERS, type Registrars } from './suite.js'

async function startRegistrars(): Promise<Registrars> {
  const accounts = Object.fromEntries(USERS.map((u) => [u, { user: u, password: `pw-${u}-secret` }]))
  const kam = await startKamailio({ accounts: Object.values(accounts) })
  return { a: kam.address, b: kam.address, accounts, close: () => kam.stop() }
}

interopSuite('interop baseline: sipp and baresip against Kamailio', startRegistrars, ['kamailio'])
