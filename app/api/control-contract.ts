import { z } from 'zod'

/**
 * The requests a local client (the `parley` CLI today, the UI bridges later)
 * may make of a running peer, declared once with their runtime schemas.
 */
export const ControlRequests = {
  status: z.object({}).strict(),
  lookup: z.object({ aor: z.string().max(512), trace: z.boolean().default(false) }).strict(),
  send: z.object({ to: z.string().max(512), text: z.string().min(1).max(64 * 1024) }).strict(),
  inbox: z.object({}).strict(),
  'contacts.list': z.object({}).strict(),
  'contacts.pin': z.object({ aor: z.string().max(512), publicKey: z.string().regex(/^[0-9a-f]{64}$/, '32 bytes of lowercase hex') }).strict(),
  'contacts.remove': z.object({ aor: z.string().max(512) }).strict()
} as const

export type ControlMethod = keyof typeof ControlRequests
export type ControlParams<M extends ControlMethod> = z.input<(typeof ControlRequests)[M]>

export const ControlEnvelope = z.object({
  id: z.number().int().nonnegative(),
  method: z.string().max(64),
  params: z.unknown().optional()
})

export type ControlReply =
  | { id: number; ok: true; result: unknown }
  | { id: number | null; ok: false; error: { code: string; message: string; details?: unknown } }

export const MAX_CONTROL_LINE = 1024 * 1024

export function isControlMethod(name: string): name is ControlMethod {
  return Object.hasOwn(ControlRequests, name)
}

/** Validate params, naming the offending field in the error. */
export function parseControlParams<M extends ControlMethod>(method: M, params: unknown): z.output<(typeof ControlRequests)[M]> {
  const parsed = ControlRequests[method].safeParse(params ?? {})
  if (parsed.success) return parsed.data as z.output<(typeof ControlRequests)[M]>
  const issue = parsed.error.issues[0]
  const field = issue?.path.length ? issue.path.join('.') : issue && 'keys' in issue ? (issue.keys as string[]).join(', ') : '(params)'
  throw Object.assign(new Error(`invalid ${method} request: ${field}: ${issue?.message}`), { code: 'BAD_REQUEST' })
}
