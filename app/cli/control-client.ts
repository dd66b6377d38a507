import { connect } from 'node:net'
import { ParleyError } from '../errors.js'
import type { ApiMethod, ApiParams, ReplyEnvelope } from '../api/contract.js'
import { controlSocketPath } from './control-socket.js'

/** One request to the peer running on `dataDir`; rejects with the peer's error code. */
export function controlRequest<M extends ApiMethod>(dataDir: string, method: M, params: ApiParams<M>): Promise<unknown> {
  const path = controlSocketPath(dataDir)
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    let buffered = ''
    socket.setEncoding('utf8')
    socket.once('connect', () => socket.write(JSON.stringify({ id: 1, method, params }) + '\n'))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ParleyError.PEER_NOT_RUNNING(dataDir) : err)
    })
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const nl = buffered.indexOf('\n')
      if (nl === -1) return
      socket.destroy()
      const reply = JSON.parse(buffered.slice(0, nl)) as ReplyEnvelope
      if (reply.ok) resolve(reply.result)
      else reject(new ParleyError(reply.error.code, reply.error.message, reply.error.details as Record<string, unknown> | undefined))
    })
    socket.on('close', () => reject(new ParleyError('PEER_CLOSED', 'the peer closed the control connection without answering')))
  })
}
