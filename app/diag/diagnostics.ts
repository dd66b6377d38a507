import type { Logger } from 'pino'
import type { Peer } from '../peer.js'
import type { SettingsStore } from '../settings/settings-store.js'
import type { DiagReport, DiagSection, LogLevel, LogLevelChange, Settings, TraceEntry } from '../api/contract.js'
import { canonicalAor } from '../identity/aor.js'
import { ParleyError } from '../errors.js'
import { gatherDiagnostics } from './diag-report.js'
import { LogLevelControl } from './log-level.js'
import type { DiagChannel } from './diag-channel.js'

export interface DiagnosticsDeps {
  /** The running peer (NOT_READY before first-run setup). */
  peer: () => Peer
  traces: () => readonly TraceEntry[]
  settings: SettingsStore
  /** The logger the peer was started with: its level is the peer's (see LogLevelControl). */
  log: Logger
  /** The settings changed (the allow-list): tell the UIs. */
  changed: (settings: Settings) => void
}

const HEX_KEY = /^[0-9a-f]{64}$/i

/**
 * The `diag.*` requests: this node's diagnostics, another node's over the
 * overlay, the log level, and the allow-list of keys that may ask for ours
 * (the `diagnosticsAllow` setting, read on every request so a change holds at once).
 */
export class Diagnostics {
  readonly logLevel: LogLevelControl

  constructor(private readonly deps: DiagnosticsDeps) {
    this.logLevel = new LogLevelControl(deps.log)
  }

  /** Answer other peers' requests on `peer`'s streams, for allow-listed keys. */
  serve(peer: Peer): void {
    peer.diag.serve({
      allowed: (key) => this.allowList().includes(key.toString('hex')),
      report: (section) => this.local(peer, section),
      logLevel: (level) => this.logLevel.change(level)
    })
  }

  async get(section: DiagSection, target?: string): Promise<DiagReport> {
    const remote = await this.channel(target)
    return remote ? remote.report(section) : this.local(this.deps.peer(), section)
  }

  async setLogLevel(level?: LogLevel, target?: string): Promise<LogLevelChange> {
    const remote = await this.channel(target)
    return remote ? remote.logLevel(level) : this.logLevel.change(level)
  }

  allowList(): string[] {
    return this.deps.settings.get().diagnosticsAllow
  }

  async allow(publicKey: string): Promise<string[]> {
    const key = publicKey.toLowerCase()
    const list = this.allowList()
    if (list.includes(key)) return list
    return this.saveAllowList([...list, key])
  }

  async disallow(publicKey: string): Promise<{ removed: boolean; allow: string[] }> {
    const key = publicKey.toLowerCase()
    const list = this.allowList()
    if (!list.includes(key)) return { removed: false, allow: list }
    return { removed: true, allow: await this.saveAllowList(list.filter((k) => k !== key)) }
  }

  private async saveAllowList(diagnosticsAllow: string[]): Promise<string[]> {
    const next = await this.deps.settings.update({ diagnosticsAllow })
    this.deps.changed(next)
    return next.diagnosticsAllow
  }

  private local(peer: Peer, section: DiagSection): Promise<DiagReport> {
    return gatherDiagnostics(peer, section, { traces: this.deps.traces, logLevel: () => this.logLevel.level })
  }

  /**
   * The channel to the node `target` names: a hex key as given, or the key
   * announcing an AOR (the pinned one, pinning on first contact as messages
   * do). Null when there is no target or it is this node itself.
   */
  private async channel(target: string | undefined): Promise<DiagChannel | null> {
    if (target === undefined) return null
    const peer = this.deps.peer()
    let key: Buffer
    if (HEX_KEY.test(target)) {
      key = Buffer.from(target, 'hex')
    } else {
      const aor = canonicalAor(target)
      if (aor === peer.aor) return null
      const { keys } = await peer.overlay.lookup(aor, { trace: true, reason: 'lookup' })
      if (!keys.length) throw ParleyError.NOT_FOUND(`${aor}: nobody registered`)
      key = (await peer.contacts.resolve(aor, keys)).publicKey
    }
    return key.equals(peer.identity.keyPair.publicKey) ? null : peer.diag.channelTo(key)
  }
}
