import { readFile } from 'node:fs/promises'
import { ParleyError, errorCode } from '../errors.js'
import { silentLogger } from '../log.js'
import { AccountErrors, AccountStore, type AccountSummary } from '../registrar/account-store.js'

export interface AccountsFlags {
  password?: string
  /** A file holding the password (one trailing newline is dropped); `-` reads stdin. */
  passwordFile?: string
  username?: string
  realm?: string
  json: boolean
}

const USAGE_TEXT = 'accounts takes: add AOR (--password PW | --password-file FILE|-) [--username U] [--realm R] | remove AOR|USERNAME | list'
const MAX_PASSWORD_INPUT = 64 * 1024

/**
 * `parley accounts add|remove|list`: the SIP digest accounts of local phones.
 * Edits accounts.json directly, so it works with or without a running peer
 * (which picks changes up within about a second). Errors are thrown as
 * ParleyError (USAGE, BAD_AOR, BAD_REQUEST, ACCOUNT_EXISTS, ACCOUNT_NOT_FOUND,
 * ACCOUNT_AMBIGUOUS, DATA_CORRUPT) for the caller to print on one line.
 */
export async function accountsCommand(
  dataDir: string,
  args: string[],
  flags: AccountsFlags,
  io: { stdin?: NodeJS.ReadableStream } = {}
): Promise<{ output: string; code: number }> {
  const [action = 'list', target, ...extra] = args
  const show = (result: AccountSummary | AccountSummary[], human: string) => ({ output: flags.json ? JSON.stringify(result) : human, code: 0 })

  if (action === 'add') {
    if (target === undefined || extra.length) throw ParleyError.USAGE(USAGE_TEXT)
    const password = await readPassword(flags, io.stdin ?? process.stdin)
    const store = await AccountStore.open(dataDir, { log: silentLogger() })
    const added = await store.add({ aor: target, password, username: flags.username, realm: flags.realm })
    return show(added, `added ${added.aor} (username ${JSON.stringify(added.username)}, realm ${JSON.stringify(added.realm)})`)
  }

  for (const [flag, value] of [['--password', flags.password], ['--password-file', flags.passwordFile], ['--username', flags.username], ['--realm', flags.realm]] as const) {
    if (value !== undefined) throw ParleyError.USAGE(`${flag} only applies to accounts add`)
  }
  if (action === 'remove') {
    if (target === undefined || extra.length) throw ParleyError.USAGE(USAGE_TEXT)
    const store = await AccountStore.open(dataDir, { log: silentLogger() })
    const removed = await store.remove(target)
    if (!removed) throw AccountErrors.ACCOUNT_NOT_FOUND(target)
    return show(removed, `removed ${removed.aor}`)
  }
  if (action === 'list') {
    if (target !== undefined) throw ParleyError.USAGE(USAGE_TEXT)
    const store = await AccountStore.open(dataDir, { log: silentLogger() })
    const list = store.list()
    const human = list.length ? list.map((a) => `${a.aor}  username ${JSON.stringify(a.username)}  realm ${JSON.stringify(a.realm)}`).join('\n') : '(no accounts)'
    return show(list, human)
  }
  throw ParleyError.USAGE(USAGE_TEXT)
}

/** Exactly one of --password (visible in `ps`) or --password-file (a file, or `-` for stdin). */
async function readPassword(flags: AccountsFlags, stdin: NodeJS.ReadableStream): Promise<string> {
  if (flags.password !== undefined && flags.passwordFile !== undefined) throw ParleyError.USAGE('give --password or --password-file, not both')
  let password: string
  if (flags.password !== undefined) {
    password = flags.password
  } else if (flags.passwordFile === '-') {
    password = stripNewline(await readStream(stdin))
  } else if (flags.passwordFile !== undefined) {
    try {
      password = stripNewline(await readFile(flags.passwordFile, 'utf8'))
    } catch (err) {
      throw ParleyError.USAGE(`--password-file: cannot read ${flags.passwordFile} (${errorCode(err) ?? (err as Error).message})`)
    }
  } else {
    throw ParleyError.USAGE('accounts add needs --password PW or --password-file FILE (- for stdin)')
  }
  if (password.length === 0) throw ParleyError.USAGE('the password is empty')
  return password
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    size += buf.length
    if (size > MAX_PASSWORD_INPUT) throw ParleyError.USAGE('the password on stdin is longer than 64 KiB')
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '')
}
