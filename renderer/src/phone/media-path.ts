/**
 * Which way a call's media flows, from `RTCPeerConnection.getStats()`: the
 * selected ICE candidate pair (RFC 8445 §8.1.1) and the types of its two
 * candidates. A `relay` candidate is a TURN allocation (RFC 8656): on our side
 * it is our relay, on the far side theirs. Structural types only, so the logic
 * runs under node:test.
 */
export interface StatsEntry {
  type: string
  id?: string
  [field: string]: unknown
}

export interface PathEnd {
  /** 'host' | 'srflx' | 'prflx' | 'relay' (RFC 8445 §5.1.1). */
  type: string
  address: string | null
  port: number | null
  protocol: string | null
  /** Local relay candidates: the TURN server's url and how we reach it. */
  url: string | null
  relayProtocol: string | null
}

export interface MediaPath {
  kind: 'direct' | 'relayed'
  /** Our candidate is a relay: if media stops, our relay may be what died. */
  localRelayed: boolean
  remoteRelayed: boolean
  local: PathEnd
  remote: PathEnd
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** The pair ICE selected: the transport names it; older reports only mark it nominated and succeeded. */
export function selectedPair(entries: readonly StatsEntry[]): StatsEntry | undefined {
  const transport = entries.find((e) => e.type === 'transport' && typeof e.selectedCandidatePairId === 'string')
  const chosen = transport ? entries.find((e) => e.id === transport.selectedCandidatePairId) : undefined
  return chosen ?? entries.find((e) => e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded')
}

function pathEnd(candidate: StatsEntry): PathEnd {
  return {
    type: str(candidate.candidateType) ?? 'unknown',
    address: str(candidate.address) ?? str(candidate.ip),
    port: int(candidate.port),
    protocol: str(candidate.protocol),
    url: str(candidate.url),
    relayProtocol: str(candidate.relayProtocol)
  }
}

export function mediaPath(stats: Iterable<StatsEntry>): MediaPath | null {
  const entries = [...stats]
  const pair = selectedPair(entries)
  if (!pair) return null
  const local = entries.find((e) => e.type === 'local-candidate' && e.id === pair.localCandidateId)
  const remote = entries.find((e) => e.type === 'remote-candidate' && e.id === pair.remoteCandidateId)
  if (!local || !remote) return null
  const l = pathEnd(local)
  const r = pathEnd(remote)
  const localRelayed = l.type === 'relay'
  const remoteRelayed = r.type === 'relay'
  return { kind: localRelayed || remoteRelayed ? 'relayed' : 'direct', localRelayed, remoteRelayed, local: l, remote: r }
}
