import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { CapacitySampler, type CapacitySources } from '../../app/relay/capacity-sampler.js'

const quiet: CapacitySources = {
  traffic: () => ({ bytesIn: 0, bytesOut: 0 }),
  relayBytes: () => 0,
  relayedCalls: () => 0,
  nat: () => ({ firewalled: false, randomized: false }),
  smoothingS: 0.001
}

/** Two busy child processes (one per core here) for `ms`. */
async function burnOtherProcesses(ms: number): Promise<void> {
  const children = [0, 1].map(() => spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end);`], { stdio: 'ignore' }))
  await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))))
}

test('system CPU counts other processes; "own" counts only this process (a dedicated super-node, or many nodes on one lab machine)', async () => {
  const system = new CapacitySampler(quiet)
  const own = new CapacitySampler({ ...quiet, cpuBasis: 'own' })
  await burnOtherProcesses(1500)
  const [s, o] = [system.sample(), own.sample()]
  assert.ok(s.cpuSystem > 0.5, `system basis: other processes' load seen (${s.cpuSystem})`)
  assert.ok(o.cpuSystem < 0.2, `own basis: other processes' load ignored (${o.cpuSystem})`)
  assert.equal(o.cpuSystem, o.cpuProcess)
})
