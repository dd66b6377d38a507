import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mediaPath } from '../../renderer/src/phone/media-path.js'

// Shapes as Chromium's getStats() reports them.
const local = (id: string, candidateType: string, extra: Record<string, unknown> = {}) => ({ type: 'local-candidate', id, candidateType, address: '10.0.0.1', port: 50000, protocol: 'udp', ...extra })
const remote = (id: string, candidateType: string) => ({ type: 'remote-candidate', id, candidateType, address: '198.51.100.9', port: 40000, protocol: 'udp' })

test('a host or server-reflexive pair on both sides is direct', () => {
  const path = mediaPath([
    { type: 'transport', id: 'T', selectedCandidatePairId: 'P' },
    { type: 'candidate-pair', id: 'P', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded', nominated: true },
    local('L', 'srflx'),
    remote('R', 'host')
  ])
  assert.equal(path?.kind, 'direct')
  assert.equal(path?.localRelayed, false)
  assert.equal(path?.local.type, 'srflx')
  assert.equal(path?.remote.address, '198.51.100.9')
})

test('a relay candidate on our side is relayed through our TURN server, named by its url', () => {
  const path = mediaPath([
    { type: 'transport', id: 'T', selectedCandidatePairId: 'P2' },
    { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R', state: 'failed' },
    { type: 'candidate-pair', id: 'P2', localCandidateId: 'L2', remoteCandidateId: 'R', state: 'succeeded', nominated: true },
    local('L1', 'host'),
    local('L2', 'relay', { url: 'turn:203.0.113.5:3478?transport=udp', relayProtocol: 'udp' }),
    remote('R', 'srflx')
  ])
  assert.equal(path?.kind, 'relayed')
  assert.equal(path?.localRelayed, true)
  assert.equal(path?.local.url, 'turn:203.0.113.5:3478?transport=udp')
  assert.equal(path?.local.relayProtocol, 'udp')
})

test('only the far end relayed: the path is relayed, but not by us', () => {
  const path = mediaPath([
    { type: 'candidate-pair', id: 'P', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded', nominated: true },
    local('L', 'prflx'),
    remote('R', 'relay')
  ])
  assert.equal(path?.kind, 'relayed')
  assert.equal(path?.localRelayed, false)
  assert.equal(path?.remoteRelayed, true)
})

test('no selected pair (not connected yet, or candidates missing) gives no path', () => {
  assert.equal(mediaPath([]), null)
  assert.equal(mediaPath([{ type: 'transport', id: 'T', selectedCandidatePairId: 'P' }, { type: 'candidate-pair', id: 'P', localCandidateId: 'L', remoteCandidateId: 'R' }]), null)
})
