import type { MailboxStatus, Voicemail } from '../../app/api/contract.js'

/**
 * Message-waiting from the voicemail list, as RFC 3842 §5.2 counts it
 * (`Voice-Message: new/old`): voicemails left for us, unheard are new, heard
 * are old. Those we left for others count for neither.
 */
export function messageWaiting(list: readonly Voicemail[]): { new: number; old: number } {
  let fresh = 0
  let old = 0
  for (const v of list) {
    if (v.direction !== 'in') continue
    if (v.heard) old++
    else fresh++
  }
  return { new: fresh, old }
}

/**
 * The sidebar badge: the list once it is loaded (each voicemail event keeps it
 * current, a heard mark included), `mailbox.status` until then.
 */
export function waitingCount(status: MailboxStatus | null, list: readonly Voicemail[] | null): number {
  if (list) return messageWaiting(list).new
  return status?.voicemail.new ?? 0
}

/** The peer says another number than the list does: a voicemail we have no event for. */
export function listIsStale(status: MailboxStatus, list: readonly Voicemail[] | null): boolean {
  return list !== null && status.voicemail.new !== messageWaiting(list).new
}

/** Insert or replace by id, newest first. */
export function mergeVoicemail(list: readonly Voicemail[], v: Voicemail): Voicemail[] {
  return [...list.filter((x) => x.id !== v.id), v].sort((a, b) => b.at.localeCompare(a.at))
}
