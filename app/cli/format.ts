/** Plain-text renderings of control results, for people at a terminal. */
export function formatHuman(command: string, result: unknown): string {
  const r = result as Record<string, unknown>
  switch (command) {
    case 'send': {
      const mailbox = r.mailbox as { acks: number; holders: number; code: string | null } | null
      if (r.delivery === 'stored') return `stored for delivery: ${mailbox?.acks} of ${mailbox?.holders} mailbox holders took it (recipient: ${r.status} ${r.reason})`
      const mailed = mailbox ? `; not stored either (${mailbox.code})` : ''
      return `${r.status} ${r.reason}${r.identity ? ` (${r.identity})` : ''}${mailed}`
    }
    case 'lookup': {
      const keys = r.keys as string[]
      if (!keys.length) return `${r.aor}: nobody registered`
      const lines = keys.map((k) => `${k}${k === r.pinned ? '  (pinned)' : ''}`)
      const trace = r.trace as { via?: string; nodes: Array<{ seq: number; hop: number; host: string; port: number; rttMs: number | null; outcome: string; records: number }> } | undefined
      if (trace?.via === 'lan') lines.push('', 'answered on the LAN (mDNS neighbours), no DHT walk')
      else if (trace) {
        lines.push('', 'seq hop  node                   rtt ms  outcome  records')
        for (const n of trace.nodes) {
          lines.push(`${String(n.seq).padStart(3)} ${String(n.hop).padStart(3)}  ${`${n.host}:${n.port}`.padEnd(21)} ${String(n.rttMs ?? '-').padStart(7)}  ${n.outcome.padEnd(8)} ${n.records}`)
        }
      }
      return lines.join('\n')
    }
    case 'inbox': {
      const list = result as Array<{ at: string; from: string; identity: string; text: string; mailed?: boolean }>
      if (!list.length) return '(no messages)'
      return list.map((m) => `${m.at}  ${m.from}${m.identity === 'pinned' ? '' : ` [${m.identity}]`}${m.mailed ? ' (mailed)' : ''}: ${m.text}`).join('\n')
    }
    case 'contacts': {
      if (!Array.isArray(result)) return JSON.stringify(result)
      const list = result as Array<{ aor: string; fingerprint: string }>
      return list.length ? list.map((c) => `${c.aor}  ${c.fingerprint}`).join('\n') : '(no contacts)'
    }
    default:
      return JSON.stringify(result, null, 2)
  }
}
