import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from 'pino'
import { Voicemail } from '../api/contract.js'
import { ensurePrivateDir } from '../store/json-file.js'
import { JsonlLog } from '../store/jsonl-log.js'
import { ParleyError } from '../errors.js'

const Update = z.object({
  kind: z.literal('update'),
  id: z.string(),
  heard: z.boolean().optional(),
  state: Voicemail.shape.state.optional()
})
const Line = z.discriminatedUnion('kind', [Voicemail.extend({ kind: z.literal('voicemail') }), Update])
type Line = z.infer<typeof Line>

/**
 * Voice messages left for us and by us: one JSON line per event in
 * `voicemail.jsonl`, the recording beside it in `voicemail/ID.audio` (owner-only,
 * fsynced before the record that points at it, so a listed voicemail always has
 * its audio).
 */
export class VoicemailStore extends EventEmitter<{ change: [Voicemail] }> {
  private readonly items = new Map<string, Voicemail>()
  private file!: JsonlLog<Line>
  private dir = ''

  static async open(dataDir: string, log: Logger): Promise<VoicemailStore> {
    const store = new VoicemailStore()
    store.dir = join(dataDir, 'voicemail')
    await ensurePrivateDir(store.dir)
    store.file = await JsonlLog.open(join(dataDir, 'voicemail.jsonl'), Line, (line) => store.apply(line), log, 'voicemail store')
    return store
  }

  private apply(line: Line): void {
    if (line.kind === 'voicemail') {
      const { kind: _kind, ...vm } = line
      this.items.set(vm.id, vm)
      return
    }
    const vm = this.items.get(line.id)
    if (!vm) return
    if (line.heard !== undefined) vm.heard = line.heard
    if (line.state !== undefined) vm.state = line.state
  }

  /** Keep a recording and its record; returns the record. */
  async add(vm: Omit<Voicemail, 'id' | 'bytes'>, audio: Buffer): Promise<Voicemail> {
    const record: Voicemail = { ...vm, id: randomUUID(), bytes: audio.length }
    const file = await open(this.audioPath(record.id), 'w', 0o600)
    try {
      await file.writeFile(audio)
      await file.sync()
    } finally {
      await file.close()
    }
    const line: Line = { kind: 'voicemail', ...record }
    this.apply(line)
    await this.file.append(line)
    this.emit('change', record)
    return record
  }

  async update(id: string, change: { heard?: boolean; state?: Voicemail['state'] }): Promise<Voicemail> {
    const vm = this.items.get(id)
    if (!vm) throw ParleyError.NOT_FOUND(`no voicemail ${id}`)
    const line: Line = { kind: 'update', id, ...change }
    this.apply(line)
    await this.file.append(line)
    this.emit('change', vm)
    return vm
  }

  async audio(id: string): Promise<{ mime: string; audio: Buffer }> {
    const vm = this.items.get(id)
    if (!vm) throw ParleyError.NOT_FOUND(`no voicemail ${id}`)
    return { mime: vm.mime, audio: await readFile(this.audioPath(id)) }
  }

  list(): Voicemail[] {
    return [...this.items.values()].sort((a, b) => a.at.localeCompare(b.at))
  }

  /** RFC 3842's Voice-Message summary: new and old incoming voicemails. */
  waiting(): { new: number; old: number } {
    const incoming = this.list().filter((v) => v.direction === 'in')
    return { new: incoming.filter((v) => !v.heard).length, old: incoming.filter((v) => v.heard).length }
  }

  private audioPath(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw ParleyError.NOT_FOUND(`no voicemail ${id}`)
    return join(this.dir, `${id}.audio`)
  }

  close(): Promise<void> {
    return this.file.close()
  }
}
