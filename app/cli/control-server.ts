import { createServer, type Server, type Socket } from 'node:net'
import { chmod, unlink } from 'node:fs/promises'
import type { Logger } from 'pino'
import { answerRequest, type ApiHandler } from '../api/dispatch.js'
import { MAX_REQUEST_BYTES, type ReplyEnvelope } from '../api/contract.js'
import { controlSocketPath, socketAnswers } from './control-socket.js'
import { ParleyError } from '../errors.js'

/**
 * The local control socket of a running peer: newline-delimited JSON requests
 * `{id, method, params}` answered by `{id, ok, result | error}`. Owner-only
 * permissions; a second peer on the same data directory is refused.
 */
export async function startControlServer(api: ApiHandler, dataDir: string, log: Logger): Promise<{ path: string; close(): Promise<void> }> {
  const path = controlSocketPath(dataDir)
  await claimSocketPath(path, dataDir)
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    serveConnection(socket, api, log)
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

function serveConnection(socket: Socket, api: ApiHandler, log: Logger): void {
  let buffered = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffered += chunk
    if (buffered.length > MAX_REQUEST_BYTES) {
      reply(socket, { id: null, ok: false, error: { code: 'BAD_REQUEST', message: `request line longer than ${MAX_REQUEST_BYTES} bytes` } })
      socket.end()
      return
    }
    let nl: number
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim()) void answerRequest(api, line, log).then((r) => reply(socket, r))
    }
  })
}

function reply(socket: Socket, message: ReplyEnvelope): void {
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
