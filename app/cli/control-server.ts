import { createServer, type Server, type Socket } from 'node:net'
import { chmod, unlink } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { Peer } from '../peer.js'
import { canonicalAor } from '../identity/aor.js'
import { ParleyError, errorCode } from '../errors.js'
import {
  ControlEnvelope,
  isControlMethod,
  parseControlParams,
  MAX_CONTROL_LINE,
  type ControlReply,
  type ControlMethod
} from '../api/control-contract.js'
import { controlSocketPath, socketAnswers } from './control-socket.js'

type Handler = (params: never) => Promise<unknown> | unknown

function handlers(peer: Peer): Record<ControlMethod, Handler> {
  return {
    status: () => peer.status(),
    lookup: async (p: { aor: string; trace: boolean }) => {
      const { keys, trace } = await peer.lookup(p.aor, { trace: p.trace })
      const pinned = peer.contacts.get(canonicalAor(p.aor))?.publicKey ?? null
      return { aor: canonicalAor(p.aor), keys: keys.map((k) => k.toString('hex')), pinned, ...(trace ? { trace } : {}) }
    },
    send: (p: { to: string; text: string }) => peer.sendMessage(p.to, p.text),
    inbox: () => peer.inbox(),
    'contacts.list': () => peer.contacts.list(),
    'contacts.pin': (p: { aor: string; publicKey: string }) => peer.contacts.pin(canonicalAor(p.aor), p.publicKey),
    'contacts.remove': async (p: { aor: string }) => ({ removed: await peer.contacts.remove(canonicalAor(p.aor)) })
  }
}

/**
 * The local control socket of a running peer: newline-delimited JSON requests
 * `{id, method, params}` answered by `{id, ok, result | error}`. Owner-only
 * permissions; a second peer on the same data directory is refused.
 */
export async function startControlServer(peer: Peer, dataDir: string, log: Logger): Promise<{ path: string; close(): Promise<void> }> {
  const path = controlSocketPath(dataDir)
  await claimSocketPath(path, dataDir)
  const table = handlers(peer)
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    serveConnection(socket, table, log)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  if (process.platform !== 'win32') await chmod(path, 0o600)
  return {
    path,
    close: () => closeServer(server, sockets, path)
  }
}

function serveConnection(socket: Socket, table: Record<ControlMethod, Handler>, log: Logger): void {
  let buffered = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffered += chunk
    if (buffered.length > MAX_CONTROL_LINE) {
      reply(socket, { id: null, ok: false, error: { code: 'BAD_REQUEST', message: `request line longer than ${MAX_CONTROL_LINE} bytes` } })
      socket.end()
      return
    }
    let nl: number
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim()) void answer(socket, line, table, log)
    }
  })
}

async function answer(socket: Socket, line: string, table: Record<ControlMethod, Handler>, log: Logger): Promise<void> {
  let id: number | null = null
  try {
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      throw ParleyError.BAD_REQUEST('request is not JSON')
    }
    const envelope = ControlEnvelope.safeParse(json)
    if (!envelope.success) throw ParleyError.BAD_REQUEST('request needs {id: integer, method: string, params?: object}')
    id = envelope.data.id
    const { method, params } = envelope.data
    if (!isControlMethod(method)) throw ParleyError.BAD_REQUEST(`unknown method ${JSON.stringify(method)}`)
    const result = await table[method](parseControlParams(method, params) as never)
    reply(socket, { id, ok: true, result })
  } catch (err) {
    const code = errorCode(err) ?? 'INTERNAL'
    if (code === 'INTERNAL') log.error({ err }, 'control request failed')
    const details = (err as ParleyError).details
    reply(socket, { id, ok: false, error: { code, message: (err as Error).message, ...(details ? { details } : {}) } })
  }
}

function reply(socket: Socket, message: ControlReply): void {
  if (!socket.destroyed) socket.write(JSON.stringify(message) + '\n')
}

/** Take over a stale socket file left by a crash, but never a live peer's. */
async function claimSocketPath(path: string, dataDir: string): Promise<void> {
  if (process.platform === 'win32') return
  if (await socketAnswers(path)) throw ParleyError.DATA_DIR_IN_USE(dataDir)
  await unlink(path).catch(() => {})
}

async function closeServer(server: Server, sockets: Set<Socket>, path: string): Promise<void> {
  for (const s of sockets) s.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (process.platform !== 'win32') await unlink(path).catch(() => {})
}
