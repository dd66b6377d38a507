/**
 * What the user typed into a call or buddy field, as an AOR: `bob` is a user
 * of the caller's own domain, `bob@example.org` gets its `sip:` scheme, and
 * the host is lower-cased (RFC 3261 §19.1.4 compares hosts case-insensitively).
 */
export function toAor(input: string, ownAor: string): string {
  let text = input.trim().replace(/^sips?:/i, '')
  if (!text) return ''
  if (!text.includes('@')) text = `${text}@${ownAor.replace(/^sips?:/i, '').split('@')[1] ?? ''}`
  const at = text.lastIndexOf('@')
  return `sip:${text.slice(0, at)}@${text.slice(at + 1).toLowerCase()}`
}

/** Same AOR: hosts compare case-insensitively, user parts exactly (as the peer's canonical form). */
export function sameAor(a: string, b: string): boolean {
  return toAor(a, a) === toAor(b, b)
}
