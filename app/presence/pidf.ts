import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { PresenceStatus } from '../api/contract.js'

/**
 * PIDF (RFC 3863) with RPID activities (RFC 4480), as Parley writes it and as
 * real phones send it. Our four statuses map onto it like this (docs/presence.md):
 *
 *   available  basic open,   no activity
 *   away       basic open,   <rpid:activities><rpid:away/></rpid:activities>
 *   busy       basic open,   <rpid:activities><rpid:busy/></rpid:activities>
 *   offline    basic closed
 */

export const PIDF_CONTENT_TYPE = 'application/pidf+xml'
/** A PIDF body larger than this is refused unread; ours are about 600 bytes. */
export const MAX_PIDF_BYTES = 16 * 1024
/** Notes are cut to this many characters (the UI contract allows 256). */
export const MAX_NOTE_CHARS = 256

export interface PresenceInfo {
  status: PresenceStatus
  note: string | null
}

export type PidfParse = { ok: true; presence: PresenceInfo } | { ok: false; reason: string }

const PIDF_NS = 'urn:ietf:params:xml:ns:pidf'

/**
 * RFC 4480 §3.2 activities that mean "not at the device"; `unknown` says
 * nothing; every other activity (on-the-phone, meeting, busy, …) means busy.
 */
const AWAY_ACTIVITIES = new Set([
  'away', 'vacation', 'holiday', 'sleeping', 'permanent-absence', 'in-transit', 'travel',
  'steering', 'breakfast', 'lunch', 'dinner', 'meal', 'shopping', 'looking-for-work'
])
const NEUTRAL_ACTIVITIES = new Set(['unknown'])

/** XML 1.0 text: escape markup and drop characters XML cannot carry (C0 controls but tab/LF/CR, lone surrogates). */
function xmlText(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, ' ')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string)
}

export function clampNote(note: string | null | undefined): string | null {
  if (note === null || note === undefined) return null
  const trimmed = [...note.trim()].slice(0, MAX_NOTE_CHARS).join('')
  return trimmed === '' ? null : trimmed
}

/** A PIDF document for `entity` (the presentity's AOR) with one tuple and, for away/busy, an RPID person. */
export function encodePidf(entity: string, info: PresenceInfo, contact?: string): string {
  const basic = info.status === 'offline' ? 'closed' : 'open'
  const note = clampNote(info.note)
  const activity = info.status === 'away' ? 'away' : info.status === 'busy' ? 'busy' : null
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<presence xmlns="${PIDF_NS}" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${xmlText(entity)}">`,
    '  <tuple id="parley">',
    `    <status><basic>${basic}</basic></status>`,
    ...(contact ? [`    <contact>${xmlText(contact)}</contact>`] : []),
    '  </tuple>',
    // RFC 3863 §4.1: notes follow the tuples; extension elements (the RPID person) come last.
    ...(note ? [`  <note>${xmlText(note)}</note>`] : []),
    ...(activity || note
      ? [
          '  <dm:person id="p1">',
          ...(activity ? [`    <rpid:activities><rpid:${activity}/></rpid:activities>`] : []),
          ...(note ? [`    <dm:note>${xmlText(note)}</dm:note>`] : []),
          '  </dm:person>'
        ]
      : []),
    '</presence>',
    ''
  ]
  return lines.join('\r\n')
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 32,
  processEntities: { enabled: true, maxEntityCount: 1, maxTotalExpansions: MAX_PIDF_BYTES, maxExpandedLength: MAX_PIDF_BYTES },
  isArray: (name) => ['tuple', 'person', 'note', 'activities', 'basic', 'status'].includes(name)
})

type XmlNode = Record<string, unknown>

function asNodes(value: unknown): XmlNode[] {
  if (value === undefined || value === null) return []
  const list = Array.isArray(value) ? value : [value]
  return list.map((v) => (typeof v === 'object' && v !== null ? (v as XmlNode) : { '#text': String(v) }))
}

/** Element text with numeric character references decoded (the parser decodes only the five named ones). */
function textOf(node: XmlNode): string {
  const t = node['#text']
  if (typeof t !== 'string') return ''
  return t.replace(/&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});/g, (ref, n: string) => {
    const cp = n.startsWith('x') ? parseInt(n.slice(1), 16) : Number(n)
    return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : ref
  })
}

/** Element names inside every <activities> below `nodes` (RPID puts them in person; older drafts in tuple status). */
function activitiesIn(nodes: XmlNode[]): string[] {
  const found: string[] = []
  const visit = (node: XmlNode, depth: number) => {
    if (depth > 8) return
    for (const [key, value] of Object.entries(node)) {
      if (key === 'activities') {
        for (const a of asNodes(value)) for (const name of Object.keys(a)) if (!name.startsWith('@') && name !== '#text') found.push(name.toLowerCase())
      } else if (!key.startsWith('@') && key !== '#text') for (const child of asNodes(value)) visit(child, depth + 1)
    }
  }
  for (const n of nodes) visit(n, 0)
  return found
}

/** The namespace the root <presence> element declares for itself (prefixes are stripped when parsing), or null. */
function rootNamespace(text: string): string | null {
  const m = /<(?:([A-Za-z_][\w.-]*):)?presence(\s[^>]*)?\/?>/.exec(text)
  if (!m) return null
  const attr = m[1] ? `xmlns:${m[1]}` : 'xmlns'
  const decl = new RegExp(`\\s${attr.replace(/\./g, '\\.')}\\s*=\\s*(["'])(.*?)\\1`).exec(m[2] ?? '')
  return decl ? (decl[2] as string) : null
}

/**
 * Read a PIDF document from a phone or a peer. Never throws: anything that is
 * not a well-formed, DTD-free PIDF document with a status is `{ ok: false }`.
 */
export function parsePidf(body: Buffer | string): PidfParse {
  const fail = (reason: string): PidfParse => ({ ok: false, reason })
  if (Buffer.byteLength(body) > MAX_PIDF_BYTES) return fail(`larger than ${MAX_PIDF_BYTES} bytes`)
  let text: string
  try {
    text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    return fail('not UTF-8')
  }
  // PIDF has no DTD; refusing one rules out entity expansion ("billion laughs") and external entities.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return fail('DTDs are not allowed')
  let doc: XmlNode
  try {
    if (XMLValidator.validate(text) !== true) return fail('not well-formed XML')
    doc = parser.parse(text) as XmlNode
  } catch (err) {
    return fail(`not parseable: ${(err as Error).message}`)
  }
  const root = asNodes(doc['presence'])[0]
  if (!root) return fail('no <presence> root element')
  const ns = rootNamespace(text)
  if (ns !== null && ns !== PIDF_NS) return fail(`unexpected namespace ${ns.slice(0, 100)}`)

  const tuples = asNodes(root['tuple'])
  const persons = asNodes(root['person'])
  const basics = tuples.flatMap((t) => asNodes(t['status']).flatMap((s) => asNodes(s['basic']).map((b) => textOf(b).toLowerCase())))
  const activities = activitiesIn([...persons, ...tuples])
  if (basics.some((b) => b !== 'open' && b !== 'closed')) return fail('<basic> must be open or closed')
  if (basics.length === 0 && activities.length === 0) return fail('no <basic> status and no activity')

  const note = clampNote(
    [...persons.flatMap((p) => asNodes(p['note'])), ...asNodes(root['note']), ...tuples.flatMap((t) => asNodes(t['note']))]
      .map(textOf)
      .find((n) => n.trim() !== '')
  )
  // RFC 3863 §4.1.4: a presentity is reachable if any tuple is open.
  if (basics.length > 0 && !basics.includes('open')) return { ok: true, presence: { status: 'offline', note } }
  const meaningful = activities.filter((a) => !NEUTRAL_ACTIVITIES.has(a))
  const status: PresenceStatus =
    meaningful.length === 0 ? 'available' : meaningful.every((a) => AWAY_ACTIVITIES.has(a)) ? 'away' : 'busy'
  return { ok: true, presence: { status, note } }
}
