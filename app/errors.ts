/**
 * One error class with a string `code` and a factory per code (the hyperdht
 * habit): callers branch on `code`, never on message text.
 */
export class ParleyError extends Error {
  readonly code: string
  readonly details: Record<string, unknown> | undefined

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'ParleyError'
    this.code = code
    this.details = details
  }

  static BAD_AOR(input: string, why: string) {
    return new ParleyError('BAD_AOR', `not a valid SIP address-of-record: ${JSON.stringify(input)} (${why})`)
  }

  static IDENTITY_CORRUPT(path: string, why: string) {
    return new ParleyError('IDENTITY_CORRUPT', `identity file ${path} is unreadable (${why}); it was left untouched`)
  }

  static DATA_CORRUPT(path: string, why: string) {
    return new ParleyError('DATA_CORRUPT', `data file ${path} is unreadable (${why}); it was left untouched`)
  }

  static IDENTITY_CHANGED(aor: string, pinned: string, found: string[]) {
    return new ParleyError(
      'IDENTITY_CHANGED',
      `${aor} is now announced only by key(s) other than the pinned one; not used until you accept the change`,
      { aor, pinned, found }
    )
  }

  static IDENTITY_AMBIGUOUS(aor: string, found: string[]) {
    return new ParleyError(
      'IDENTITY_AMBIGUOUS',
      `${aor} is announced by ${found.length} different keys and none is pinned yet; pin one by its fingerprint`,
      { aor, found }
    )
  }

  static DATA_DIR_IN_USE(dir: string) {
    return new ParleyError('DATA_DIR_IN_USE', `another Parley peer is already running on ${dir}`)
  }

  static PEER_NOT_RUNNING(dir: string) {
    return new ParleyError('PEER_NOT_RUNNING', `no Parley peer is running on ${dir} (start one with: parley serve --data-dir ${dir} --aor …)`)
  }

  static BAD_REQUEST(message: string) {
    return new ParleyError('BAD_REQUEST', message)
  }

  static USAGE(message: string) {
    return new ParleyError('USAGE', message)
  }

  static CLOSED() {
    return new ParleyError('CLOSED', 'the peer is shutting down')
  }

  static NOT_FOUND(message: string) {
    return new ParleyError('NOT_FOUND', message)
  }

  /** A letter could not be mailed: `code` is the holders' refusal (MAILBOX_FULL…) or NO_HOLDERS / NO_MAJORITY. */
  static NOT_STORED(message: string, details: Record<string, unknown>) {
    return new ParleyError('NOT_STORED', message, details)
  }
}

export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined
}

export class PeerUnreachableError extends ParleyError {
  constructor(publicKey: string, cause: string) {
    super('PEER_UNREACHABLE', `peer ${publicKey.slice(0, 16)}… is registered but could not be reached (${cause})`, { publicKey, cause })
  }
}
