/** @jsxRuntime automatic */
import type { NodeStatus } from '../../../app/api/contract.js'

type LanStatus = NodeStatus['overlay']['lan']

/** Why the privacy setting has no effect on this peer, or null when it does (or the status is not known yet). */
export function lanAdvertiseLimit(lan: LanStatus | undefined): string | null {
  if (lan === undefined) return null
  if (lan === null) return 'Local network discovery is off on this computer (parley serve --lan off, or the DHT runs on loopback).'
  if (lan.mode === 'browse') return 'This peer was started with --lan browse: it finds others here but is never announced, whatever this box says.'
  return null
}

/** "Let people on this local network find me", disabled with the reason when the peer's start-up flags decide instead. */
export function LanAdvertiseSetting(props: { checked: boolean; lan: LanStatus | undefined; onChange: (on: boolean) => void }) {
  const limit = lanAdvertiseLimit(props.lan)
  return (
    <>
      <label className="check">
        <input type="checkbox" data-testid="setting-lan-advertise" checked={props.checked} disabled={limit !== null} onChange={(e) => props.onChange(e.target.checked)} />
        Let people on this local network find me (mDNS); others are found either way
      </label>
      {limit && (
        <p className="muted" data-testid="setting-lan-advertise-limit">
          {limit}
        </p>
      )}
    </>
  )
}
