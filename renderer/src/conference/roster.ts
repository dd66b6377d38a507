import { z } from 'zod'

/**
 * The conference's shared state and the rules every member applies to it.
 * Carried in SIP INFO inside each member's dialog with the mixer (docs/conference.md):
 * the mixer sends the roster, members send reports. One roster, one rule for
 * choosing a mixer: every member reaches the same choice from the same roster,
 * so a handoff never splits the conference.
 */

/** On an INVITE: `<conference id>` to invite someone, `<id>;handoff` to move to a new mixer. */
export const CONFERENCE_HEADER = 'X-Parley-Conference'
export const ROSTER_CONTENT_TYPE = 'application/vnd.parley.conference+json'
export const REPORT_CONTENT_TYPE = 'application/vnd.parley.conference-member+json'
export const MAX_MEMBERS = 10
/** A mixer this much busier (af) than the best candidate hands over; less is not worth a handoff. */
export const HANDOFF_MARGIN = 0.2

const Aor = z.string().min(5).max(256).regex(/^sips?:\S+$/i)
const ConferenceId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/)

/** What a member can offer as mixer: its af() and role, as its peer measured them. */
export const Capacity = z.object({
  /** af() ∈ [0,1]: lower means mixing here bothers nobody. */
  score: z.number().min(0).max(1),
  supernode: z.boolean(),
  /** Under the demotion threshold and not vetoed (battery, never-relay). */
  capable: z.boolean()
})
export type Capacity = z.infer<typeof Capacity>

export const RosterMember = Capacity.extend({
  aor: Aor,
  name: z.string().max(128).nullable(),
  muted: z.boolean(),
  speaking: z.boolean()
})
export type RosterMember = z.infer<typeof RosterMember>

export const Roster = z
  .object({
    conference: ConferenceId,
    /** Grows with every change; a member keeps the newest it has seen. */
    version: z.number().int().nonnegative(),
    mixer: Aor,
    /** `handoff`: the mixer is leaving; everyone moves to `successor`. */
    state: z.enum(['active', 'handoff']),
    successor: Aor.nullable(),
    members: z.array(RosterMember).min(1).max(MAX_MEMBERS)
  })
  .strict()
export type Roster = z.infer<typeof Roster>

/** A member's report to the mixer; every field optional, unknown ones refused. */
export const MemberReport = z
  .object({
    conference: ConferenceId,
    capacity: Capacity.optional(),
    muted: z.boolean().optional(),
    /** How loud this member wants each other member in its own mix (1 = as mixed). */
    volumes: z.record(Aor, z.number().min(0).max(2)).optional(),
    /** Ask the mixer to invite someone. */
    invite: Aor.optional()
  })
  .strict()
export type MemberReport = z.infer<typeof MemberReport>

const MAX_BODY = 16 * 1024

function decode<T>(schema: z.ZodType<T>, body: string | undefined): T | null {
  if (!body || body.length > MAX_BODY) return null
  try {
    const parsed = schema.safeParse(JSON.parse(body))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

export const decodeRoster = (body: string | undefined): Roster | null => decode(Roster, body)
export const decodeReport = (body: string | undefined): MemberReport | null => decode(MemberReport, body)

/**
 * The mixer for these members, leaving out `exclude` (the one leaving or lost):
 * members able to carry the load first, then super-nodes, then the lowest af(),
 * then the address — a total order, so everyone holding the roster agrees.
 */
export function electMixer(members: readonly RosterMember[], exclude: ReadonlySet<string> = new Set()): string | null {
  const candidates = members.filter((m) => !exclude.has(m.aor))
  candidates.sort((a, b) => Number(b.capable) - Number(a.capable) || Number(b.supernode) - Number(a.supernode) || a.score - b.score || (a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : 0))
  return candidates[0]?.aor ?? null
}

/**
 * Whether the current mixer should hand over to a better member: one that can
 * carry the load when it cannot, a super-node when it is not one, or one
 * clearly less loaded. The margin keeps af()'s jitter from moving the mix around.
 */
export function betterMixer(roster: Roster): string | null {
  const best = electMixer(roster.members)
  const mixer = roster.members.find((m) => m.aor === roster.mixer)
  const candidate = roster.members.find((m) => m.aor === best)
  if (!best || !mixer || !candidate || best === roster.mixer) return null
  if (candidate.capable && !mixer.capable) return best
  if (candidate.supernode && !mixer.supernode) return best
  if (candidate.capable === mixer.capable && candidate.supernode === mixer.supernode && mixer.score - candidate.score > HANDOFF_MARGIN) return best
  return null
}

export function parseConferenceHeader(value: string | undefined): { id: string; handoff: boolean } | null {
  const m = /^\s*([A-Za-z0-9_-]{8,64})\s*(;\s*handoff\s*)?$/.exec(value ?? '')
  return m ? { id: m[1]!, handoff: m[2] !== undefined } : null
}

export function newConferenceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
