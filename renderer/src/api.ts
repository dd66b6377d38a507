import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react'
import type { ApiClient } from '../../app/api/client.js'
import {
  DEFAULT_SETTINGS,
  type ApiEvent,
  type ApiEventName,
  type Buddy,
  type CallRecord,
  type ChatMessage,
  type DiagReport,
  type MailboxStatus,
  type NodeStatus,
  type Presence,
  type PresenceStatus,
  type Settings,
  type TraceEntry,
  type Voicemail
} from '../../app/api/contract.js'
import { listIsStale, mergeVoicemail, waitingCount } from './message-waiting.js'

/** React hooks over the contract: each loads its data once and follows the peer's events. */
export const ApiContext = createContext<ApiClient | null>(null)

export function useApi(): ApiClient {
  const api = useContext(ApiContext)
  if (!api) throw new Error('useApi outside <ApiContext>')
  return api
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Subscribe to one pushed event for the component's lifetime; the latest `fn` is called. */
export function useApiEvent<E extends ApiEventName>(event: E, fn: (data: ApiEvent<E>) => void): void {
  const api = useApi()
  const latest = useRef(fn)
  latest.current = fn
  useEffect(() => api.on(event, (data) => latest.current(data)), [api, event])
}

export function useBuddies() {
  const api = useApi()
  const [buddies, setBuddies] = useState<Buddy[]>([])
  const upsert = useCallback((b: Buddy) => setBuddies((list) => sortBuddies([...list.filter((x) => x.aor !== b.aor), b])), [])
  useEffect(() => void api.call('buddies.list').then((list) => setBuddies(sortBuddies(list)), console.error), [api])
  useApiEvent('buddy', upsert)
  useApiEvent('buddy-removed', ({ aor }) => setBuddies((list) => list.filter((b) => b.aor !== aor)))
  return {
    buddies,
    add: async (aor: string) => upsert(await api.call('buddies.add', { aor })),
    remove: async (aor: string) => {
      await api.call('buddies.remove', { aor })
      setBuddies((list) => list.filter((b) => b.aor !== aor))
    },
    acceptKey: async (aor: string, publicKey: string) => upsert(await api.call('buddies.acceptKey', { aor, publicKey }))
  }
}

function sortBuddies(list: Buddy[]): Buddy[] {
  return list.sort((a, b) => (a.displayName ?? a.aor).localeCompare(b.displayName ?? b.aor))
}

export function useSettings(): [Settings, (patch: Partial<Settings>) => Promise<void>] {
  const api = useApi()
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS)
  useEffect(() => void api.call('settings.get').then(setSettings, console.error), [api])
  useApiEvent('settings', setSettings)
  // Shown at once (a checkbox must follow the click), then whatever the peer stored.
  const update = useCallback(
    async (patch: Partial<Settings>) => {
      setSettings((now) => ({ ...now, ...patch }))
      try {
        setSettings(await api.call('settings.set', patch))
      } catch (err) {
        setSettings(await api.call('settings.get'))
        throw err
      }
    },
    [api]
  )
  return [settings, update]
}

export function usePresence(): [Presence | null, (status: PresenceStatus) => Promise<void>] {
  const api = useApi()
  const [presence, setPresence] = useState<Presence | null>(null)
  useEffect(() => void api.call('presence.get').then(setPresence, console.error), [api])
  useApiEvent('presence', setPresence)
  const set = useCallback(async (status: PresenceStatus) => setPresence(await api.call('presence.set', { status })), [api])
  return [presence, set]
}

/** One buddy's conversation; incoming messages are marked read while it is open. */
export function useConversation(peer: string) {
  const api = useApi()
  const [messages, setMessages] = useState<ChatMessage[]>([])
  const upsert = useCallback((m: ChatMessage) => setMessages((list) => mergeMessage(list, m)), [])
  useEffect(() => {
    let live = true
    setMessages([])
    api.call('messages.list', { peer }).then((list) => live && setMessages((now) => list.reduce(mergeMessage, now)), console.error)
    void api.call('messages.markRead', { peer }).catch(console.error)
    return () => {
      live = false
    }
  }, [api, peer])
  useApiEvent('message', (m) => {
    if (m.peer !== peer) return
    upsert(m)
    if (m.direction === 'in' && !m.read) void api.call('messages.markRead', { peer }).catch(console.error)
  })
  const send = useCallback(async (text: string) => upsert(await api.call('messages.send', { to: peer, text })), [api, peer, upsert])
  return { messages, send }
}

function mergeMessage(list: ChatMessage[], m: ChatMessage): ChatMessage[] {
  const i = list.findIndex((x) => x.id === m.id)
  if (i >= 0) return list.map((x, j) => (j === i ? m : x))
  return [...list, m].sort((a, b) => a.at.localeCompare(b.at))
}

export function useCallHistory(): CallRecord[] {
  const api = useApi()
  const [calls, setCalls] = useState<CallRecord[]>([])
  useEffect(() => void api.call('calls.list').then(setCalls, console.error), [api])
  useApiEvent('call', (c) => setCalls((list) => [c, ...list.filter((x) => x.id !== c.id)]))
  return calls
}

/**
 * Voicemail and message-waiting (RFC 3842): the list of voice messages, kept
 * current by `voicemail` events, and the peer's mailbox status; a `mailbox`
 * event that counts differently from the list brings a fresh list.
 */
export function useMailbox() {
  const api = useApi()
  const [status, setStatus] = useState<MailboxStatus | null>(null)
  const [voicemails, setVoicemails] = useState<Voicemail[] | null>(null)
  const upsert = useCallback((v: Voicemail) => setVoicemails((list) => mergeVoicemail(list ?? [], v)), [])
  const reload = useCallback(
    () => api.call('voicemail.list').then((list) => setVoicemails(list.reduce<Voicemail[]>(mergeVoicemail, [])), console.error),
    [api]
  )
  useEffect(() => {
    void api.call('mailbox.status').then(setStatus, console.error)
    void reload()
  }, [api, reload])
  useApiEvent('voicemail', upsert)
  useApiEvent('mailbox', (s) => {
    setStatus(s)
    if (listIsStale(s, voicemails)) void reload()
  })
  return {
    status,
    voicemails,
    /** New voicemails: the sidebar's message-waiting badge. */
    waiting: waitingCount(status, voicemails),
    upsert,
    audio: (id: string) => api.call('voicemail.audio', { id }),
    markHeard: async (id: string) => upsert(await api.call('voicemail.markHeard', { id })),
    /** Fetch our mailbox from its holders now. */
    check: async () => {
      const got = await api.call('mailbox.check')
      void api.call('mailbox.status').then(setStatus, console.error)
      await reload()
      return got
    }
  }
}
export type MailboxView = ReturnType<typeof useMailbox>

/** Recent overlay lookups (requested ones and those behind calls and messages), newest first. */
export function useTraces(): TraceEntry[] {
  const api = useApi()
  const [traces, setTraces] = useState<TraceEntry[]>([])
  useEffect(() => void api.call('traces.recent').then((list) => setTraces(newestFirst(list)), console.error), [api])
  useApiEvent('trace', (t) => setTraces((list) => newestFirst([t, ...list.filter((x) => !sameTrace(x, t))]).slice(0, 100)))
  return traces
}

export function sameTrace(a: TraceEntry, b: TraceEntry): boolean {
  return a.aor === b.aor && a.trace.startedAt === b.trace.startedAt
}

function newestFirst(list: TraceEntry[]): TraceEntry[] {
  return [...list].sort((a, b) => b.trace.startedAt.localeCompare(a.trace.startedAt))
}

/** The node's status, polled while mounted. */
export function useNodeStatus(intervalMs = 2000): { status: NodeStatus | null; error: string | null } {
  const { value, error } = usePolled(askStatus, intervalMs)
  return { status: value, error }
}

/** The node's diagnostics (every section), polled while mounted. */
export function useDiagnostics(intervalMs = 5000): { report: DiagReport | null; error: string | null } {
  const { value, error } = usePolled(askDiagnostics, intervalMs)
  return { report: value, error }
}

const askStatus = (api: ApiClient) => api.call('status')
const askDiagnostics = (api: ApiClient) => api.call('diag.get')

/** `ask` now and every `intervalMs` while mounted (`ask` must be the same function every render). */
function usePolled<T>(ask: (api: ApiClient) => Promise<T>, intervalMs: number): { value: T | null; error: string | null } {
  const api = useApi()
  const [value, setValue] = useState<T | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const poll = () =>
      ask(api).then(
        (v) => (setValue(() => v), setError(null)),
        (e: unknown) => setError(errorText(e))
      )
    void poll()
    const timer = setInterval(poll, intervalMs)
    return () => clearInterval(timer)
  }, [api, ask, intervalMs])
  return { value, error }
}
