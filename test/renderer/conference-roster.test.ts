import assert from 'node:assert/strict'
import { test } from 'node:test'
import { betterMixer, decodeReport, decodeRoster, electMixer, parseConferenceHeader, type Roster, type RosterMember } from '../../renderer/src/conference/roster.js'

const member = (aor: string, over: Partial<RosterMember> = {}): RosterMember => ({ aor, name: null, muted: false, speaking: false, score: 0.3, supernode: false, capable: true, ...over })
const roster = (mixer: string, members: RosterMember[]): Roster => ({ conference: 'abcdef0123456789', version: 3, mixer, state: 'active', successor: null, members })

test('the election is a total order: capable, then super-node, then lowest af(), then address', () => {
  const a = member('sip:a@x.org', { score: 0.1 })
  const b = member('sip:b@x.org', { score: 0.05, capable: false })
  const c = member('sip:c@x.org', { score: 0.4, supernode: true })
  const d = member('sip:d@x.org', { score: 0.1 })
  assert.equal(electMixer([a, b, c, d]), 'sip:c@x.org')
  assert.equal(electMixer([a, b, d]), 'sip:a@x.org')
  assert.equal(electMixer([d, b, a]), 'sip:a@x.org', 'order of the list does not matter')
  assert.equal(electMixer([a, b, c, d], new Set(['sip:c@x.org', 'sip:a@x.org'])), 'sip:d@x.org')
  assert.equal(electMixer([b]), 'sip:b@x.org', 'an overloaded member still mixes when nobody else can')
  assert.equal(electMixer([a], new Set(['sip:a@x.org'])), null)
})

test('every member computes the same successor from the same roster, whatever order it holds it in', () => {
  const members = Array.from({ length: 10 }, (_, i) => member(`sip:m${i}@x.org`, { score: [0.2, 0.1, 0.1, 0.5, 0.3, 0.1, 0.9, 0.2, 0.4, 0.6][i]! }))
  const lost = new Set(['sip:m1@x.org'])
  const choices = new Set<string | null>()
  for (let i = 0; i < 20; i++) {
    const shuffled = [...members].sort(() => Math.random() - 0.5)
    choices.add(electMixer(shuffled, lost))
  }
  assert.deepEqual([...choices], ['sip:m2@x.org'])
})

test('a handoff only for a clearly better mixer', () => {
  const mixer = member('sip:mix@x.org', { score: 0.3 })
  assert.equal(betterMixer(roster(mixer.aor, [mixer, member('sip:a@x.org', { score: 0.2 })])), null, 'within the margin')
  assert.equal(betterMixer(roster(mixer.aor, [mixer, member('sip:a@x.org', { score: 0.05 })])), 'sip:a@x.org')
  assert.equal(betterMixer(roster(mixer.aor, [mixer, member('sip:a@x.org', { score: 0.9, supernode: true, capable: false })])), null, 'a super-node that cannot carry the load is not better')
  assert.equal(betterMixer(roster(mixer.aor, [mixer, member('sip:a@x.org', { score: 0.5, supernode: true })])), 'sip:a@x.org', 'a super-node is preferred')
  assert.equal(betterMixer(roster(mixer.aor, [member(mixer.aor, { capable: false }), member('sip:a@x.org', { score: 0.5 })])), 'sip:a@x.org')
})

test('rosters and reports from the wire are checked; anything else is dropped', () => {
  const good = roster('sip:mix@x.org', [member('sip:mix@x.org')])
  assert.deepEqual(decodeRoster(JSON.stringify(good)), good)
  for (const bad of [undefined, '', '{', 'null', '[]', JSON.stringify({ ...good, extra: 1 }), JSON.stringify({ ...good, members: [] }), JSON.stringify({ ...good, members: Array(11).fill(member('sip:a@x.org')) }), JSON.stringify({ ...good, conference: 'x' }), JSON.stringify({ ...good, mixer: 'not an aor' }), JSON.stringify({ ...good, members: [member('sip:a@x.org', { score: 7 })] }), 'x'.repeat(20_000)]) {
    assert.equal(decodeRoster(bad), null, String(bad).slice(0, 60))
  }
  assert.deepEqual(decodeReport('{"conference":"abcdef0123456789","muted":true}'), { conference: 'abcdef0123456789', muted: true })
  assert.equal(decodeReport('{"conference":"abcdef0123456789","volumes":{"sip:a@x.org":9}}'), null)
  assert.equal(decodeReport('{"conference":"abcdef0123456789","invite":"javascript:alert(1)"}'), null)
})

test('the conference header: an id, optionally ;handoff', () => {
  assert.deepEqual(parseConferenceHeader('abcdef0123456789'), { id: 'abcdef0123456789', handoff: false })
  assert.deepEqual(parseConferenceHeader(' abcdef0123456789 ; handoff '), { id: 'abcdef0123456789', handoff: true })
  for (const bad of [undefined, '', 'short', 'abcdef0123456789;other', 'abc def 0123456789']) assert.equal(parseConferenceHeader(bad), null)
})
