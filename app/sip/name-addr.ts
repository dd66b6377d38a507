/**
 * The URI and display name of a From/To/Contact value (RFC 3261 §20.10:
 * name-addr or addr-spec; in addr-spec form, parameters after ';' belong to
 * the header, not the URI).
 */
export function parseNameAddr(value: string): { uri: string; displayName: string | null } | null {
  const lt = value.indexOf('<')
  if (lt !== -1) {
    const gt = value.indexOf('>', lt)
    if (gt === -1) return null
    const name = value.slice(0, lt).trim()
    const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(name)
    const displayName = quoted ? (quoted[1] as string).replace(/\\(.)/g, '$1') : name || null
    return { uri: value.slice(lt + 1, gt).trim(), displayName }
  }
  const uri = value.split(';')[0]?.trim()
  return uri ? { uri, displayName: null } : null
}

export function quoteDisplayName(name: string): string {
  return `"${name.replace(/["\\]/g, (ch) => '\\' + ch).replace(/[\r\n]/g, ' ')}"`
}
