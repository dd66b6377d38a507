import { join } from 'node:path'
import type { Logger } from 'pino'
import { CallRecord } from '../api/contract.js'
import { JsonlLog } from '../store/jsonl-log.js'

/** Older entries stay on disk but are not loaded. */
export const MAX_LOADED_CALLS = 10_000

/**
 * Call history in `calls.jsonl`, one record per line, appended and fsynced.
 * The UI reports each call when it ends (it owns the call); a record with the
 * id of an earlier one replaces it. Torn or foreign lines are skipped on load.
 */
export class CallHistory {
  private readonly calls = new Map<string, CallRecord>()
  private file!: JsonlLog<CallRecord>

  private constructor() {}

  static async open(dataDir: string, log: Logger): Promise<CallHistory> {
    const history = new CallHistory()
    history.file = await JsonlLog.open(join(dataDir, 'calls.jsonl'), CallRecord, (call) => history.remember(call), log, 'call history')
    return history
  }

  /** Newest first. */
  list(limit: number): CallRecord[] {
    return [...this.calls.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1)).slice(0, limit)
  }

  record(call: CallRecord): Promise<void> {
    this.remember(call)
    return this.file.append(call)
  }

  close(): Promise<void> {
    return this.file.close()
  }

  private remember(call: CallRecord): void {
    this.calls.delete(call.id)
    this.calls.set(call.id, call)
    if (this.calls.size > MAX_LOADED_CALLS) {
      const oldest = this.calls.keys().next().value
      if (oldest !== undefined) this.calls.delete(oldest)
    }
  }
}
