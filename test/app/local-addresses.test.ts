import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { NetworkInterfaceInfo } from 'node:os'
import { LocalAddresses, addressFacing, ipv4Addresses } from '../../app/sip/proxy/local-addresses.js'
import type { SipTransport } from '../../app/sip/transport.js'

const nic = (address: string, netmask: string, internal = false) => ({ address, netmask, family: 'IPv4', internal, mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo
const interfaces = { lo: [nic('127.0.0.1', '255.0.0.0', true)], eth0: [nic('10.0.250.2', '255.255.255.0')], wlan0: [nic('192.168.1.20', '255.255.255.0')] }
const udp = (host: string) => Object.assign(new EventEmitter(), { name: 'UDP', reliable: false, local: { host, port: 5060 } }) as unknown as SipTransport

test('the local address on the subnet of a remote one, or null when a router is between', () => {
  assert.equal(addressFacing('10.0.250.3', ipv4Addresses(interfaces)), '10.0.250.2')
  assert.equal(addressFacing('192.168.1.99', ipv4Addresses(interfaces)), '192.168.1.20')
  assert.equal(addressFacing('127.0.0.1', ipv4Addresses(interfaces)), '127.0.0.1')
  assert.equal(addressFacing('8.8.8.8', ipv4Addresses(interfaces)), null)
  assert.equal(addressFacing('::1', ipv4Addresses(interfaces)), null)
})

test('bound to 0.0.0.0, Via and Record-Route name the interface that faces the next hop, and it is recognised as us', () => {
  const t = udp('0.0.0.0')
  const addresses = new LocalAddresses(Buffer.alloc(32, 1), [t], [], () => interfaces)
  assert.deepEqual(addresses.viaFor({ kind: 'address', transport: t, host: '10.0.250.3', port: 5070 }), { transport: 'UDP', sentBy: '10.0.250.2:5060' })
  assert.equal(addresses.recordRouteFor({ kind: 'address', transport: t, host: '192.168.1.99', port: 5060 }), 'sip:192.168.1.20:5060;transport=udp;lr')
  assert.equal(addresses.viaFor({ kind: 'address', transport: t, host: '127.0.0.1', port: 5062 }).sentBy, '127.0.0.1:5060')
  assert.equal(addresses.viaFor({ kind: 'address', transport: t, host: '8.8.8.8', port: 5060 }).sentBy, '127.0.0.1:5060')
  for (const host of ['10.0.250.2', '192.168.1.20', '127.0.0.1']) assert.ok(addresses.isUs(host, 5060), host)
  assert.ok(!addresses.isUs('10.0.250.3', 5060))
  assert.ok(!addresses.isUs('10.0.250.2', 5070))
  // Bound to one address, that address is the only answer.
  const fixed = udp('10.0.250.2')
  const one = new LocalAddresses(Buffer.alloc(32, 1), [fixed], [], () => interfaces)
  assert.equal(one.viaFor({ kind: 'address', transport: fixed, host: '127.0.0.1', port: 5062 }).sentBy, '10.0.250.2:5060')
  assert.ok(!one.isUs('192.168.1.20', 5060))
})
