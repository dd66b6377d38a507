import type { Logger } from 'pino'
import { ParleyError, errorCode } from '../errors.js'
import { RequestEnvelope, type ReplyEnvelope } from './contract.js'

export interface ApiHandler {
  handle(method: string, params: unknown): Promise<unknown>
}

/**
 * One request envelope in, one reply envelope out — the same for every
 * transport. Never throws: bad JSON, a bad envelope, an unknown method, bad
 * params and failures all become `{ok: false, error: {code, message}}`.
 */
export async function answerRequest(api: ApiHandler, text: string, log: Logger): Promise<ReplyEnvelope> {
  let id: number | null = null
  try {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw ParleyError.BAD_REQUEST('request is not JSON')
    }
    const envelope = RequestEnvelope.safeParse(json)
    if (!envelope.success) throw ParleyError.BAD_REQUEST('request needs {id: integer, method: string, params?: object}')
    id = envelope.data.id
    const result = await api.handle(envelope.data.method, envelope.data.params)
    return { id, ok: true, result: result ?? null }
  } catch (err) {
    const code = errorCode(err) ?? 'INTERNAL'
    if (code === 'INTERNAL') log.error({ err }, 'API request failed')
    const details = (err as ParleyError).details
    return { id, ok: false, error: { code, message: (err as Error).message, ...(details ? { details } : {}) } }
  }
}
