/**
 * Geometry of the overlay map, as pure functions: where an identifier sits on
 * the 2^256 ring, how far (in XOR bits) a node is from the lookup target, and
 * the curved, arrow-headed chords drawn from a node to the nodes it named.
 *
 * Angles are fractions of a turn in [0, 1), measured clockwise from twelve
 * o'clock, so that id 0 sits at the top and 2^255 at the bottom.
 */

export interface Point {
  x: number
  y: number
}

const HEX_ID = /^[0-9a-f]+$/i

/**
 * The fraction of the ring an id sits at, from its top 32 bits. Ids shorter
 * than 8 hex digits are read as if padded with zeros on the right.
 */
export function idFraction(hexId: string): number {
  if (!HEX_ID.test(hexId)) throw new Error(`not a hex id: ${hexId}`)
  const top = Number.parseInt(hexId.slice(0, 8).padEnd(8, '0'), 16)
  return top / 2 ** 32
}

/**
 * A stand-in ring position for a node that never told its id (it timed out):
 * FNV-1a of `host:port`, so the same address always lands at the same place.
 */
export function addressFraction(host: string, port: number): number {
  let hash = 0x811c9dc5
  for (const ch of `${host}:${port}`) {
    hash ^= ch.codePointAt(0) ?? 0
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash / 2 ** 32
}

/** Degrees clockwise from the top, for labels and descriptions. */
export function fractionToDegrees(fraction: number): number {
  return fraction * 360
}

/** The point at `fraction` of a turn on a circle of radius `r` around `center`. */
export function pointOnRing(center: Point, r: number, fraction: number): Point {
  const a = fraction * 2 * Math.PI
  return { x: center.x + r * Math.sin(a), y: center.y - r * Math.cos(a) }
}

/**
 * log2 of the XOR distance between two ids of equal length: 255.x for ids
 * that differ in the first bit, 0 for ids one apart, -Infinity for equal ids.
 * Kademlia lookups converge by shrinking this number hop after hop.
 */
export function xorLog2Distance(aHex: string, bHex: string): number {
  if (!HEX_ID.test(aHex) || !HEX_ID.test(bHex)) throw new Error('xor distance needs hex ids')
  if (aHex.length !== bHex.length) throw new Error('xor distance needs ids of the same length')
  const xor = BigInt(`0x${aHex}`) ^ BigInt(`0x${bHex}`)
  if (xor === 0n) return Number.NEGATIVE_INFINITY
  const bits = xor.toString(2).length
  // The top 53 bits carry all the precision a double can hold.
  const shift = Math.max(0, bits - 53)
  const top = Number(xor >> BigInt(shift))
  return Math.log2(top) + shift
}

/** The number of leading bits two ids share (the Kademlia bucket index). */
export function sharedPrefixBits(aHex: string, bHex: string): number {
  const d = xorLog2Distance(aHex, bHex)
  return d === Number.NEGATIVE_INFINITY ? aHex.length * 4 : aHex.length * 4 - 1 - Math.floor(d)
}

/**
 * Spread fractions apart so that neighbours are at least `minGap` of a turn
 * apart, moving each as little as possible: overlapping points are merged
 * into clusters centred on their mean until no clusters overlap. The ring is
 * cut at its widest gap, so a cluster across twelve o'clock stays together.
 * Returns the new fractions in the input order.
 */
export function spreadFractions(fractions: readonly number[], minGap: number): number[] {
  const n = fractions.length
  if (n < 2) return fractions.slice()
  const gap = Math.min(minGap, 1 / n)
  const order = fractions.map((f, i) => ({ f: mod1(f), i })).sort((a, b) => a.f - b.f)
  // Cut after the widest gap so the sweep does not split a cluster.
  let cut = 0
  let widest = -1
  for (let k = 0; k < n; k++) {
    const here = order[k]!.f
    const next = k + 1 < n ? order[k + 1]!.f : order[0]!.f + 1
    if (next - here > widest) {
      widest = next - here
      cut = (k + 1) % n
    }
  }
  const base = order[cut]!.f
  const items = [...order.slice(cut), ...order.slice(0, cut)].map(({ f, i }) => ({ u: mod1(f - base), i }))

  interface Cluster {
    members: { u: number; i: number }[]
    start: number
  }
  const clusters: Cluster[] = []
  for (const item of items) {
    clusters.push({ members: [item], start: item.u })
    // Merge while the last cluster overlaps the one before it.
    while (clusters.length > 1) {
      const last = clusters[clusters.length - 1]!
      const prev = clusters[clusters.length - 2]!
      if (prev.start + prev.members.length * gap <= last.start + 1e-12) break
      const members = [...prev.members, ...last.members]
      const mean = members.reduce((s, m) => s + m.u, 0) / members.length
      clusters.splice(clusters.length - 2, 2, { members, start: mean - ((members.length - 1) * gap) / 2 })
    }
  }
  const out = new Array<number>(n)
  for (const c of clusters) {
    // A node with room around it keeps its exact fraction.
    if (c.members.length === 1) out[c.members[0]!.i] = mod1(fractions[c.members[0]!.i]!)
    else c.members.forEach((m, k) => (out[m.i] = mod1(base + c.start + k * gap)))
  }
  return out
}

function mod1(f: number): number {
  if (f >= 0 && f < 1) return f
  const r = f % 1
  return r < 0 ? r + 1 : r
}

/** A parent→child chord: the curve, its arrowhead and where to put a label. */
export interface ArrowGeometry {
  /** SVG path data: a quadratic curve. */
  d: string
  /** SVG polygon points of the arrowhead, its tip on the child's edge. */
  head: string
  /** The curve's midpoint. */
  mid: Point
}

export interface ArrowOptions {
  /** Radius of the node drawn at `from`: the curve starts on its edge. */
  fromRadius?: number
  /** Radius of the node drawn at `to`: the arrowhead's tip touches its edge. */
  toRadius?: number
  /** How far the curve bows to its left, as a fraction of the chord's length. */
  bend?: number
  /** Length of the arrowhead. */
  headLength?: number
}

/**
 * A curved arrow from `from` to `to`. The control point sits off the chord's
 * midpoint on the left of the direction of travel, so an arrow and its reverse
 * never overlap, and chords through the ring's centre stay distinguishable.
 */
export function arrowPath(from: Point, to: Point, options: ArrowOptions = {}): ArrowGeometry {
  const { fromRadius = 0, toRadius = 0, bend = 0.2, headLength = 8 } = options
  const dx = to.x - from.x
  const dy = to.y - from.y
  const mid = { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 }
  // Left normal in screen coordinates (y grows downwards): (dy, -dx).
  const control = { x: mid.x + dy * bend, y: mid.y - dx * bend }
  const start = towards(from, control, fromRadius)
  const tip = towards(to, control, toRadius)
  const base = towards(tip, control, headLength)
  const ux = tip.x - base.x
  const uy = tip.y - base.y
  const half = 0.45
  const left = { x: base.x - uy * half, y: base.y + ux * half }
  const right = { x: base.x + uy * half, y: base.y - ux * half }
  // The curve ends at the arrowhead's base, so a thick stroke does not blunt the tip.
  const d = `M${fmt(start.x)},${fmt(start.y)} Q${fmt(control.x)},${fmt(control.y)} ${fmt(base.x)},${fmt(base.y)}`
  const head = [tip, left, right].map((p) => `${fmt(p.x)},${fmt(p.y)}`).join(' ')
  // Midpoint of a quadratic Bézier: B(½) = ¼·P0 + ½·P1 + ¼·P2.
  const curveMid = { x: (from.x + 2 * control.x + to.x) / 4, y: (from.y + 2 * control.y + to.y) / 4 }
  return { d, head, mid: curveMid }
}

/** The point `distance` along the straight line from `p` towards `q` (p itself when they coincide). */
export function towards(p: Point, q: Point, distance: number): Point {
  const dx = q.x - p.x
  const dy = q.y - p.y
  const len = Math.hypot(dx, dy)
  if (len === 0 || distance === 0) return { x: p.x, y: p.y }
  return { x: p.x + (dx / len) * distance, y: p.y + (dy / len) * distance }
}

/** A linear scale from `domain` to `range`. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): (v: number) => number {
  const [d0, d1] = domain
  const [r0, r1] = range
  const span = d1 - d0
  return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))
}

/** Round to 0.1 for compact SVG coordinates. */
export function fmt(v: number): string {
  return String(Math.round(v * 10) / 10)
}

/** Where the identifier ring and its hop rings are drawn. */
export interface RingFrame {
  center: Point
  /** The identifier ring; hop 1 nodes sit on it. */
  outerRadius: number
  /** The smallest hop ring. */
  innerRadius: number
  /** The largest distance between two hop rings. */
  maxStep?: number
}

/** The radius of the ring hop `hop` (1-based) is drawn on, when the lookup went `maxHop` hops deep. */
export function hopRadius(frame: RingFrame, hop: number, maxHop: number): number {
  if (maxHop <= 1) return frame.outerRadius
  const step = Math.min(frame.maxStep ?? 48, (frame.outerRadius - frame.innerRadius) / (maxHop - 1))
  return frame.outerRadius - (Math.min(Math.max(hop, 1), maxHop) - 1) * step
}

export interface RingPlacement extends Point {
  /** The fraction the node is drawn at: its id's, nudged apart from neighbours. */
  shownFraction: number
  ringRadius: number
}

/**
 * Places nodes on concentric hop rings (hop 1 outermost: the lookup spirals
 * inwards as it converges), each at its id's angle, nudged just enough that
 * nodes on the same ring do not overlap (`nodeSpacing` apart along the arc).
 */
export function ringLayout(nodes: readonly { fraction: number; hop: number }[], frame: RingFrame, nodeSpacing: number): RingPlacement[] {
  const maxHop = nodes.reduce((m, n) => Math.max(m, n.hop), 1)
  const out = new Array<RingPlacement>(nodes.length)
  const byHop = new Map<number, number[]>()
  nodes.forEach((n, i) => {
    const hop = Math.min(Math.max(n.hop, 1), maxHop)
    byHop.set(hop, [...(byHop.get(hop) ?? []), i])
  })
  for (const [hop, indexes] of byHop) {
    const r = hopRadius(frame, hop, maxHop)
    const spread = spreadFractions(
      indexes.map((i) => nodes[i]!.fraction),
      nodeSpacing / (2 * Math.PI * r)
    )
    indexes.forEach((nodeIndex, k) => {
      const shownFraction = spread[k]!
      out[nodeIndex] = { ...pointOnRing(frame.center, r, shownFraction), shownFraction, ringRadius: r }
    })
  }
  return out
}

/** Tick values for an axis from `lo` to `hi`, at a round step giving about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  const ticks: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(Math.round(v * 1e6) / 1e6)
  return ticks
}

/**
 * The y domain of the XOR-distance view: from just below the closest node
 * (rounded down to a whole bit) up to `bits` (the farthest possible).
 */
export function xorDomain(distances: readonly (number | null)[], bits = 256): [number, number] {
  const finite = distances.filter((d): d is number => d !== null && Number.isFinite(d))
  if (!finite.length) return [bits - 8, bits]
  const lo = Math.max(0, Math.floor(Math.min(...finite)) - 1)
  return [Math.min(lo, bits - 4), bits]
}

/** The running minimum of the distances in contact order: how close the lookup had got by each node. */
export function closestSoFar(distances: readonly (number | null)[]): (number | null)[] {
  let best: number | null = null
  return distances.map((d) => {
    if (d !== null && (best === null || d < best)) best = d
    return best
  })
}
