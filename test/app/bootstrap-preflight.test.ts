import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import createTestnet from 'hyperdht/testnet.js'
import { preflightBootstrap } from '../../app/overlay/bootstrap-preflight.js'

test('IP@host entries: an IP that answers stays, one that does not gives way to its hostname; plain lists pass untouched', async (t) => {
  const testnet = await createTestnet(2, { host: '127.0.0.1' })
  t.after(() => testnet.destroy())
  // A UDP port that is bound but never answers: a bootstrap node that is gone.
  const silent = createSocket('udp4')
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()))
  t.after(() => silent.close())
  const live = testnet.bootstrap[0]!
  const dead = silent.address().port

  const list = [`127.0.0.1@live.example:${live.port}`, `127.0.0.1@gone.example:${dead}`, `127.0.0.1:${live.port}`]
  assert.deepEqual(await preflightBootstrap(list, '127.0.0.1'), [`127.0.0.1:${live.port}`, `gone.example:${dead}`, `127.0.0.1:${live.port}`])

  const plain = [`127.0.0.1:${live.port}`]
  assert.equal(await preflightBootstrap(plain), plain)
})
