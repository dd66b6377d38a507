/** @jsxRuntime automatic */
// (tsx applies the root tsconfig only to files it includes, and renderer/ is
// not among them: the pragma keeps the automatic JSX runtime under Node tests.)
import { useState, type ReactNode } from 'react'
import type { LookupTrace, TraceEntry } from '../../../app/api/contract.js'
import {
  addressFraction,
  arrowPath,
  closestSoFar,
  fmt,
  fractionToDegrees,
  hopRadius,
  idFraction,
  linearScale,
  niceTicks,
  pointOnRing,
  ringLayout,
  towards,
  xorDomain,
  xorLog2Distance,
  type Point
} from './overlay-geometry.js'
import './theme-fallback.css'
import './overlay-map.css'

type TracedNode = LookupTrace['nodes'][number]
export type OverlayMapView = 'ring' | 'xor'

const WIDTH = 800
const HEIGHT = 480
const NODE_R = 9
/** Up to this many nodes every node carries its RTT label. */
const LABEL_ALL = 12
const ANSWER_R = 12
const FRAME = { center: { x: WIDTH / 2, y: HEIGHT / 2 }, outerRadius: 190, innerRadius: 70 }

const REASONS: Record<TraceEntry['reason'], string> = {
  lookup: 'lookup request',
  proxy: 'call or request routed by the proxy',
  message: 'message',
  presence: 'presence'
}

/** One contacted node, with what the drawing needs to know about it. */
interface MapNode {
  node: TracedNode
  address: string
  /** Position on the ring: from the id, or from the address when the node never told its id. */
  fraction: number
  idKnown: boolean
  answer: boolean
  /** log2 XOR distance to the target; null without an id. */
  distance: number | null
  /** Index of the node whose reply named this one, when it is in the trace. */
  parent: number | null
}

function describeNodes(entry: TraceEntry): MapNode[] {
  const { nodes, target } = entry.trace
  const byAddress = new Map<string, number>()
  nodes.forEach((n, i) => {
    const address = `${n.host}:${n.port}`
    if (!byAddress.has(address)) byAddress.set(address, i)
  })
  return nodes.map((n, i) => {
    const idKnown = n.id !== null && /^[0-9a-f]+$/i.test(n.id)
    const parent = n.parent === null ? undefined : byAddress.get(n.parent)
    return {
      node: n,
      address: `${n.host}:${n.port}`,
      fraction: idKnown ? idFraction(n.id!) : addressFraction(n.host, n.port),
      idKnown,
      answer: n.records > 0,
      distance: idKnown && n.id!.length === target.length ? xorLog2Distance(n.id!, target) : null,
      parent: parent === undefined || parent === i ? null : parent
    }
  })
}

function shortId(hex: string | null): string {
  return hex ? `${hex.slice(0, 8)}…` : 'unknown id'
}

function rttText(n: TracedNode): string {
  if (n.outcome === 'timeout') return 'timeout'
  return n.rttMs === null ? n.outcome : `${n.rttMs} ms`
}

function nodeSummary(m: MapNode): string {
  const n = m.node
  const records = n.records ? `, ${n.records} record${n.records === 1 ? '' : 's'} (answer)` : ''
  const distance = m.distance === null ? '' : `, XOR distance 2^${m.distance.toFixed(1)}`
  const outcome = n.outcome === 'timeout' ? 'timed out' : `${rttText(n)}, ${n.outcome}`
  return `#${n.seq} ${shortId(n.id)} ${m.address}, hop ${n.hop}, ${outcome}${records}${distance}`
}

/** Indexes of `index` and the nodes whose replies led to it, back to hop 1. */
function ancestry(nodes: readonly MapNode[], index: number | null): Set<number> {
  const chain = new Set<number>()
  for (let i = index; i !== null && !chain.has(i); i = nodes[i]?.parent ?? null) chain.add(i)
  return chain
}

/**
 * A DHT lookup drawn on the 2^256 identifier ring: every contacted node at its
 * id's angle on the ring of its hop, an arrow from each node to the nodes its
 * reply named, the target marked, the nodes that returned records (the answer)
 * highlighted. A toggle switches to the XOR-distance view, where the lookup's
 * convergence on the target shows as a falling line.
 */
export function OverlayMap({ entry, initialView = 'ring' }: { entry: TraceEntry; initialView?: OverlayMapView }) {
  const [view, setView] = useState<OverlayMapView>(initialView)
  const [active, setActive] = useState<number | null>(null)
  const nodes = describeNodes(entry)
  // Until a node is pointed at, the route to the first answer is the one highlighted.
  const firstAnswer = nodes.findIndex((m) => m.answer)
  const path = ancestry(nodes, active ?? (firstAnswer < 0 ? null : firstAnswer))
  // Every node's RTT fits a small lookup; a large one labels the highlighted route only.
  const labelled = (i: number) => nodes.length <= LABEL_ALL || path.has(i) || nodes[i]!.answer
  const label = `DHT lookup of ${entry.aor}: ${view === 'ring' ? 'identifier ring' : 'XOR distance to the target by contact order'}`
  const focus = (i: number) => ({
    onFocus: () => setActive(i),
    onBlur: () => setActive(null),
    onMouseEnter: () => setActive(i),
    onMouseLeave: () => setActive(null)
  })

  return (
    <figure className="overlay-map" data-testid="overlay-map">
      <div className="overlay-map__toolbar" role="group" aria-label="Overlay map view">
        <button type="button" aria-pressed={view === 'ring'} onClick={() => setView('ring')}>
          Ring
        </button>
        <button type="button" aria-pressed={view === 'xor'} onClick={() => setView('xor')}>
          XOR distance
        </button>
      </div>
      <svg className="overlay-map__svg" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} data-view={view}>
        <desc>{describeTrace(entry, nodes)}</desc>
        {view === 'ring' ? <RingView entry={entry} nodes={nodes} path={path} labelled={labelled} focus={focus} /> : <XorView nodes={nodes} path={path} labelled={labelled} focus={focus} />}
        <Legend row={view === 'xor'} />
      </svg>
      <p className="overlay-map__detail" aria-live="polite">
        {active !== null && nodes[active] ? nodeSummary(nodes[active]) : 'Focus or point at a node for its details; the path that led to it is highlighted.'}
      </p>
      <Caption entry={entry} nodes={nodes} />
    </figure>
  )
}

type FocusHandlers = (i: number) => Record<'onFocus' | 'onBlur' | 'onMouseEnter' | 'onMouseLeave', () => void>

interface ViewProps {
  nodes: MapNode[]
  path: Set<number>
  labelled: (i: number) => boolean
  focus: FocusHandlers
}

function RingView({ entry, nodes, path, labelled, focus }: ViewProps & { entry: TraceEntry }) {
  const { center, outerRadius } = FRAME
  const maxHop = nodes.reduce((m, n) => Math.max(m, n.node.hop), 1)
  const placed = ringLayout(
    nodes.map((n) => ({ fraction: n.fraction, hop: n.node.hop })),
    FRAME,
    2 * ANSWER_R + 4
  )
  const target = /^[0-9a-f]+$/i.test(entry.trace.target) ? idFraction(entry.trace.target) : 0
  const targetPoint = pointOnRing(center, outerRadius, target)
  const hops = Array.from({ length: maxHop }, (_, k) => k + 1)

  return (
    <g className="om-ring">
      <circle className="om-ring__id" cx={center.x} cy={center.y} r={outerRadius} />
      {hops.slice(1).map((h) => (
        <circle key={h} className="om-ring__hop" cx={center.x} cy={center.y} r={hopRadius(FRAME, h, maxHop)} />
      ))}
      {[0, 0.25, 0.5, 0.75].map((f) => {
        const a = pointOnRing(center, outerRadius - 5, f)
        const b = pointOnRing(center, outerRadius + 5, f)
        const t = pointOnRing(center, outerRadius + 16, f)
        return (
          <g key={f} className="om-ring__tick">
            <line x1={fmt(a.x)} y1={fmt(a.y)} x2={fmt(b.x)} y2={fmt(b.y)} />
            <text x={fmt(t.x)} y={fmt(t.y)} textAnchor="middle" dominantBaseline="middle">
              {['0', '2²⁵⁴', '2²⁵⁵', '3·2²⁵⁴'][f * 4]}
            </text>
          </g>
        )
      })}
      <g className="om-target" data-testid="target-marker">
        <title>{`target ${shortId(entry.trace.target)} (${fractionToDegrees(target).toFixed(1)}° on the ring)`}</title>
        <line className="om-target__ray" x1={center.x} y1={center.y} x2={fmt(targetPoint.x)} y2={fmt(targetPoint.y)} />
        <path className="om-target__mark" d={diamond(targetPoint, 9)} />
        <TargetLabel at={pointOnRing(center, outerRadius + 34, target)} fraction={target} />
      </g>
      <Edges nodes={nodes} points={placed} path={path} radius={(n) => nodeRadius(n)} bend={0.18} />
      <g className="om-nodes">
        {nodes.map((m, i) => {
          const p = placed[i]!
          const out = towards(p, center, -(nodeRadius(m) + 4))
          const side = Math.sin(p.shownFraction * 2 * Math.PI)
          return (
            <NodeMark key={i} m={m} at={p} active={path.has(i)} handlers={focus(i)}>
              {labelled(i) ? (
                <text className="om-node__rtt" x={fmt(out.x)} y={fmt(out.y)} textAnchor={side > 0.3 ? 'start' : side < -0.3 ? 'end' : 'middle'} dominantBaseline="middle">
                  {rttText(m.node)}
                </text>
              ) : null}
            </NodeMark>
          )
        })}
      </g>
      <text className="om-ring__hoplabel" x={center.x} y={center.y + 18} textAnchor="middle">
        {maxHop > 1 ? `hops 1 (outer) → ${maxHop}` : 'hop 1'}
      </text>
    </g>
  )
}

function TargetLabel({ at, fraction }: { at: Point; fraction: number }) {
  const side = Math.sin(fraction * 2 * Math.PI)
  return (
    <text className="om-target__label" x={fmt(at.x)} y={fmt(at.y)} textAnchor={side > 0.3 ? 'start' : side < -0.3 ? 'end' : 'middle'} dominantBaseline="middle">
      target
    </text>
  )
}

const PLOT = { left: 70, right: 770, top: 56, bottom: 400, noId: 436 }

function XorView({ nodes, path, labelled, focus }: ViewProps) {
  const distances = nodes.map((m) => (m.distance === null ? null : Math.max(m.distance, 0)))
  const [lo, hi] = xorDomain(distances)
  const y = linearScale([lo, hi], [PLOT.bottom, PLOT.top])
  const x = linearScale([0, Math.max(1, nodes.length - 1)], [PLOT.left + 20, PLOT.right - 10])
  const points = nodes.map((_, i) => ({ x: x(i), y: distances[i] === null ? PLOT.noId : y(distances[i]!) }))
  const best = closestSoFar(distances)
  const bestLine = best
    .map((d, i) => (d === null ? null : { x: x(i), y: y(d) }))
    .reduce<string[]>((acc, p, i, all) => {
      if (!p) return acc
      const prev = all.slice(0, i).reverse().find((q) => q !== null)
      acc.push(prev ? `H${fmt(p.x)} V${fmt(p.y)}` : `M${fmt(p.x)},${fmt(p.y)}`)
      return acc
    }, [])
    .join(' ')
  const firstTick = Math.max(0, nodes.length > 12 ? Math.ceil(nodes.length / 10) : 1)

  return (
    <g className="om-xor">
      <g className="om-axis">
        <line x1={PLOT.left} y1={PLOT.top} x2={PLOT.left} y2={PLOT.bottom} />
        <line x1={PLOT.left} y1={PLOT.bottom} x2={PLOT.right} y2={PLOT.bottom} />
        {niceTicks(lo, hi, 6).map((t) => (
          <g key={t}>
            <line className="om-axis__grid" x1={PLOT.left} y1={fmt(y(t))} x2={PLOT.right} y2={fmt(y(t))} />
            <text x={PLOT.left - 6} y={fmt(y(t))} textAnchor="end" dominantBaseline="middle">
              {t}
            </text>
          </g>
        ))}
        {nodes.map((m, i) =>
          i % firstTick === 0 ? (
            <text key={i} x={fmt(x(i))} y={PLOT.bottom + 14} textAnchor="middle">
              {m.node.seq}
            </text>
          ) : null
        )}
        <text x={PLOT.left - 52} y={(PLOT.top + PLOT.bottom) / 2} transform={`rotate(-90 ${PLOT.left - 52} ${(PLOT.top + PLOT.bottom) / 2})`} textAnchor="middle">
          log₂ XOR distance to target (bits)
        </text>
        <text x={(PLOT.left + PLOT.right) / 2} y={PLOT.bottom + 28} textAnchor="middle">
          contact order (seq); number in the dot = hop
        </text>
        <text x={PLOT.left - 6} y={PLOT.noId} textAnchor="end" dominantBaseline="middle">
          no id
        </text>
      </g>
      <path className="om-best" d={bestLine}>
        <title>closest node reached so far</title>
      </path>
      <Edges nodes={nodes} points={points} path={path} radius={(m) => nodeRadius(m)} bend={0.12} />
      <g className="om-nodes">
        {nodes.map((m, i) => (
          <NodeMark key={i} m={m} at={points[i]!} active={path.has(i)} handlers={focus(i)}>
            {labelled(i) ? (
              <text className="om-node__rtt" x={fmt(points[i]!.x)} y={fmt(points[i]!.y - nodeRadius(m) - 5)} textAnchor="middle">
                {rttText(m.node)}
              </text>
            ) : null}
          </NodeMark>
        ))}
      </g>
      <g className="om-target" data-testid="target-marker">
        <title>the target lies below, at distance 0</title>
        <path className="om-target__mark" d={diamond({ x: PLOT.left, y: PLOT.bottom }, 7)} />
        <text className="om-target__label" x={PLOT.left - 10} y={PLOT.bottom + 16} textAnchor="end">
          target ↓
        </text>
      </g>
    </g>
  )
}

function nodeRadius(m: MapNode): number {
  return m.answer ? ANSWER_R : NODE_R
}

function Edges({ nodes, points, path, radius, bend }: { nodes: MapNode[]; points: Point[]; path: Set<number>; radius: (m: MapNode) => number; bend: number }) {
  return (
    <g className="om-edges">
      {nodes.map((m, i) => {
        if (m.parent === null) return null
        const parent = nodes[m.parent]!
        const arrow = arrowPath(points[m.parent]!, points[i]!, { fromRadius: radius(parent), toRadius: radius(m) + 1, bend })
        const cls = `om-edge om-edge--${m.node.outcome}${path.has(i) && path.has(m.parent) ? ' om-edge--path' : ''}`
        return (
          <g key={i} className={cls} data-testid="edge">
            <title>{`${parent.address} named ${m.address} (hop ${m.node.hop}, ${rttText(m.node)})`}</title>
            <path d={arrow.d} />
            <polygon points={arrow.head} />
          </g>
        )
      })}
    </g>
  )
}

function NodeMark({ m, at, active, handlers, children }: { m: MapNode; at: Point; active: boolean; handlers: ReturnType<FocusHandlers>; children?: ReactNode }) {
  const r = nodeRadius(m)
  const cls = ['om-node', `om-node--${m.node.outcome}`, m.answer && 'om-node--answer', !m.idKnown && 'om-node--noid', active && 'om-node--active'].filter(Boolean).join(' ')
  return (
    <g className={cls} data-testid="node" data-seq={m.node.seq} tabIndex={0} aria-label={nodeSummary(m)} {...handlers}>
      <title>{nodeSummary(m)}</title>
      {m.answer ? <circle className="om-node__halo" cx={fmt(at.x)} cy={fmt(at.y)} r={r + 5} /> : null}
      <circle className="om-node__dot" cx={fmt(at.x)} cy={fmt(at.y)} r={r} />
      {m.node.outcome === 'error' ? <path className="om-node__cross" d={cross({ x: at.x + r, y: at.y - r }, 4)} /> : null}
      <text className="om-node__hop" x={fmt(at.x)} y={fmt(at.y)} textAnchor="middle" dominantBaseline="central">
        {m.node.hop}
      </text>
      {children}
    </g>
  )
}

/** A column in the ring view's free corner; a row above the plot in the XOR view. */
function Legend({ row }: { row: boolean }) {
  const items: [string, string][] = [
    ['om-node om-node--ok', 'replied'],
    ['om-node om-node--error', 'error'],
    ['om-node om-node--timeout om-node--noid', 'timeout (no id: dashed)'],
    ['om-node om-node--ok om-node--answer', 'returned records'],
    ['om-target', 'target']
  ]
  return (
    <g className="om-legend" transform={row ? 'translate(70 18)' : 'translate(12 16)'} aria-hidden="true">
      {items.map(([cls, text], k) => (
        <g key={text} className={cls} transform={row ? `translate(${LEGEND_X[k]} 0)` : `translate(0 ${k * 20})`}>
          {cls === 'om-target' ? <path className="om-target__mark" d={diamond({ x: 8, y: 0 }, 6)} /> : <circle className="om-node__dot om-legend__dot" cx={8} cy={0} r={6} />}
          {cls.includes('error') ? <path className="om-node__cross" d={cross({ x: 8, y: 0 }, 5)} /> : null}
          <text className="om-legend__text" x={20} y={0} dominantBaseline="middle">
            {text}
          </text>
        </g>
      ))}
    </g>
  )
}

const LEGEND_X = [0, 90, 160, 330, 470]

function Caption({ entry, nodes }: { entry: TraceEntry; nodes: MapNode[] }) {
  const { trace, keys } = entry
  const count = (o: TracedNode['outcome']) => nodes.filter((m) => m.node.outcome === o).length
  const answers = nodes.filter((m) => m.answer).length
  return (
    <figcaption className="overlay-map__caption" data-testid="overlay-map-caption">
      <span className="overlay-map__aor">
        Lookup of <strong>{entry.aor}</strong> ({REASONS[entry.reason]})
      </span>
      <span data-testid="caption-duration">{`${Math.round(trace.durationMs)} ms`}</span>
      <span data-testid="caption-hops">{trace.via === 'lan' ? 'answered on the LAN (mDNS), no DHT walk' : trace.hopsToFirstRecord === null ? 'no record found' : `first record at hop ${trace.hopsToFirstRecord}`}</span>
      <span data-testid="caption-keys">
        {keys.length === 0 ? 'no key found' : `${keys.length} key${keys.length === 1 ? '' : 's'} found: `}
        {keys.map((k, i) => (
          <code key={k} title={k}>
            {i > 0 ? ', ' : ''}
            {shortId(k)}
          </code>
        ))}
      </span>
      <span>{`${nodes.length} nodes contacted: ${count('ok')} replied, ${count('error')} error, ${count('timeout')} timed out; records from ${answers} node${answers === 1 ? '' : 's'}`}</span>
    </figcaption>
  )
}

function describeTrace(entry: TraceEntry, nodes: MapNode[]): string {
  const { trace } = entry
  const maxHop = nodes.reduce((m, n) => Math.max(m, n.node.hop), 0)
  const answers = nodes.filter((m) => m.answer).map((m) => `#${m.node.seq} ${m.address} at hop ${m.node.hop}`)
  return (
    `Lookup of ${entry.aor} for target ${shortId(trace.target)}: ${nodes.length} nodes contacted over ${maxHop} hops in ${Math.round(trace.durationMs)} ms. ` +
    (answers.length ? `Records came from ${answers.join('; ')}. ` : 'No node returned records. ') +
    `${entry.keys.length} key${entry.keys.length === 1 ? '' : 's'} found.`
  )
}

function diamond(p: Point, s: number): string {
  return `M${fmt(p.x)},${fmt(p.y - s)} L${fmt(p.x + s)},${fmt(p.y)} L${fmt(p.x)},${fmt(p.y + s)} L${fmt(p.x - s)},${fmt(p.y)} Z`
}

function cross(p: Point, s: number): string {
  const d = s * Math.SQRT1_2
  return `M${fmt(p.x - d)},${fmt(p.y - d)} L${fmt(p.x + d)},${fmt(p.y + d)} M${fmt(p.x + d)},${fmt(p.y - d)} L${fmt(p.x - d)},${fmt(p.y + d)}`
}
