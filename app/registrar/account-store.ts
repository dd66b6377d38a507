import { readFileSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { ParleyError, errorCode } from '../errors.js'
import { aorHost, aorUser, canonicalAor, type Aor } from '../identity/aor.js'
import { createLogger, type Logger } from '../log.js'
import { ha1, type DigestAlgorithm } from '../sip/digest-auth.js'
import { writeJsonFile } from '../store/json-file.js'

export const ACCOUNTS_FILE = 'accounts.json'

/** An account as listed: everything but the HA1 hashes (which are password-equivalent for their realm). */
export interface AccountSummary {
  aor: Aor
  username: string
  realm: string
  createdAt: string
}

export const AccountErrors = {
  ACCOUNT_EXISTS(what: string) {
    return new ParleyError('ACCOUNT_EXISTS', `an account for ${what} already exists (remove it first to change its password)`)
  },
  ACCOUNT_NOT_FOUND(what: string) {
    return new ParleyError('ACCOUNT_NOT_FOUND', `no account ${JSON.stringify(what)}`)
  },
  ACCOUNT_AMBIGUOUS(username: string, aors: string[]) {
    return new ParleyError('ACCOUNT_AMBIGUOUS', `username ${JSON.stringify(username)} is used by ${aors.join(', ')}; name the AOR instead`, { username, aors })
  }
}

const hex = (chars: number) => z.string().regex(new RegExp(`^[0-9a-f]{${chars}}$`), `${chars} lowercase hex digits`)

const AccountRecord = z.object({
  aor: z.string(),
  username: z.string().min(1).max(256),
  realm: z.string().min(1).max(256),
  ha1: z.object({ md5: hex(32), sha256: hex(64) }),
  createdAt: z.string()
})
type AccountRecord = z.infer<typeof AccountRecord>

const AccountsFile = z.object({ version: z.literal(1), accounts: z.array(AccountRecord) })

export interface AccountStoreOptions {
  /**
   * What a corrupt (or world-readable) file does. 'throw' (the CLI): raise
   * DATA_CORRUPT. 'keep-last-good' (the running peer): log, keep serving the
   * last good copy (none at startup: every login fails), retry when the file
   * changes again. Writes always refuse to replace a corrupt file.
   */
  onCorrupt?: 'throw' | 'keep-last-good'
  log?: Logger
  now?: () => number
  /** How often reads stat the file for edits by another process (the CLI). */
  recheckMs?: number
}

/**
 * Digest credentials of the local SIP phones that may register with this peer,
 * in `accounts.json` (owner-only). Only HA1 = H(username:realm:password) is
 * kept, for MD5 and SHA-256 (RFC 8760), never the password.
 *
 * The CLI edits the file while the peer runs, so every read first checks —
 * at most once per `recheckMs` — whether the file's inode, size or times
 * changed, and reloads it if so. Reads are synchronous because the digest
 * authenticator's HA1 lookup is.
 */
export class AccountStore {
  readonly path: string
  /** Why the last reload was refused, if the file is currently unusable. */
  lastError: ParleyError | undefined
  private records: AccountRecord[] = []
  // Indexes rebuilt on every (re)load: REGISTER handling looks accounts up per request.
  private byLogin = new Map<string, AccountRecord>()
  private byAor = new Map<string, AccountRecord>()
  private realmSet: ReadonlySet<string> = new Set()

  private get accounts(): AccountRecord[] {
    return this.records
  }

  private set accounts(list: AccountRecord[]) {
    this.records = list
    this.byLogin = new Map(list.map((a) => [loginKey(a.username, a.realm), a]))
    this.byAor = new Map(list.map((a) => [a.aor, a]))
    this.realmSet = new Set(list.map((a) => a.realm.toLowerCase()))
  }
  private signature = ''
  private checkedAt = -Infinity
  private writing: Promise<unknown> = Promise.resolve()
  private readonly onCorrupt: 'throw' | 'keep-last-good'
  private readonly log: Logger
  private readonly now: () => number
  private readonly recheckMs: number

  private constructor(path: string, options: AccountStoreOptions) {
    this.path = path
    this.onCorrupt = options.onCorrupt ?? 'throw'
    this.log = options.log ?? createLogger()
    this.now = options.now ?? Date.now
    this.recheckMs = options.recheckMs ?? 1000
  }

  static async open(dataDir: string, options: AccountStoreOptions = {}): Promise<AccountStore> {
    const store = new AccountStore(join(dataDir, ACCOUNTS_FILE), options)
    store.refresh({ force: true })
    return store
  }

  list(): AccountSummary[] {
    this.refresh()
    return this.accounts.map(summary)
  }

  accountFor(username: string, realm: string): AccountSummary | undefined {
    this.refresh()
    const found = this.byLogin.get(loginKey(username, realm))
    return found && summary(found)
  }

  /** The account registering `aor`, if any. */
  accountForAor(aor: string): AccountSummary | undefined {
    this.refresh()
    const found = this.byAor.get(aor)
    return found && summary(found)
  }

  /** Every realm of the accounts, lower-cased. */
  realms(): ReadonlySet<string> {
    this.refresh()
    return this.realmSet
  }

  /** The digest authenticator's HA1 lookup: `auth.verify(req, (u, r, a) => store.ha1For(u, r, a))`. */
  ha1For(username: string, realm: string, algorithm: DigestAlgorithm): string | undefined {
    this.refresh()
    const found = this.byLogin.get(loginKey(username, realm))
    if (!found) return undefined
    return algorithm === 'SHA-256' ? found.ha1.sha256 : found.ha1.md5
  }

  /**
   * Add an account. The username defaults to the AOR's user part and the realm
   * to its host (RFC 3261 §22.1 suggests the domain as realm); the same AOR or
   * the same (username, realm) twice is refused with ACCOUNT_EXISTS.
   */
  add(input: { aor: string; username?: string; password: string; realm?: string }): Promise<AccountSummary> {
    return this.edit(() => {
      const aor = canonicalAor(input.aor)
      const username = checkText('username', input.username ?? aorUser(aor))
      const realm = checkText('realm', input.realm ?? aorHost(aor))
      if (typeof input.password !== 'string' || input.password.length === 0) throw ParleyError.BAD_REQUEST('the password must not be empty')
      if (input.password.length > 1024) throw ParleyError.BAD_REQUEST('the password is longer than 1024 characters')
      if (this.accounts.some((a) => a.aor === aor)) throw AccountErrors.ACCOUNT_EXISTS(aor)
      if (this.accounts.some((a) => a.username === username && a.realm === realm)) {
        throw AccountErrors.ACCOUNT_EXISTS(`username ${JSON.stringify(username)} in realm ${JSON.stringify(realm)}`)
      }
      const record: AccountRecord = {
        aor,
        username,
        realm,
        ha1: { md5: ha1('MD5', username, realm, input.password), sha256: ha1('SHA-256', username, realm, input.password) },
        createdAt: new Date(this.now()).toISOString()
      }
      return { next: [...this.accounts, record], result: summary(record) }
    })
  }

  /** Remove by AOR (`sip:…`) or by username; undefined if there was no such account. */
  remove(aorOrUsername: string): Promise<AccountSummary | undefined> {
    return this.edit(() => {
      let matches: AccountRecord[]
      if (/^sips?:/i.test(aorOrUsername.trim())) {
        const aor = canonicalAor(aorOrUsername)
        matches = this.accounts.filter((a) => a.aor === aor)
      } else {
        matches = this.accounts.filter((a) => a.username === aorOrUsername)
        if (matches.length > 1) throw AccountErrors.ACCOUNT_AMBIGUOUS(aorOrUsername, matches.map((a) => a.aor))
      }
      const [gone] = matches
      if (!gone) return { next: undefined, result: undefined }
      return { next: this.accounts.filter((a) => a !== gone), result: summary(gone) }
    })
  }

  /**
   * Re-read the file if it changed since the last look (at most once per
   * recheckMs unless forced). Never throws in keep-last-good mode.
   */
  refresh(opts: { force?: boolean } = {}): void {
    const now = this.now()
    if (!opts.force && now - this.checkedAt < this.recheckMs) return
    this.checkedAt = now
    try {
      this.reloadIfChanged(opts.force === true)
    } catch (err) {
      if (this.onCorrupt === 'throw') throw err
      const problem = err instanceof ParleyError ? err : ParleyError.DATA_CORRUPT(this.path, (err as Error).message)
      if (this.lastError?.message !== problem.message) {
        this.log.error({ err: problem, path: this.path, keeping: this.accounts.length }, 'accounts file unusable; keeping the last good copy')
      }
      this.lastError = problem
    }
  }

  /** Read-modify-write on a fresh copy; a corrupt file is never overwritten. */
  private edit<T>(change: () => { next: AccountRecord[] | undefined; result: T }): Promise<T> {
    const run = async () => {
      this.reloadIfChanged(true)
      const { next, result } = change()
      if (next) {
        await writeJsonFile(this.path, { version: 1, accounts: next })
        this.accounts = next
        this.signature = signatureOf(statOrUndefined(this.path))
      }
      return result
    }
    const done = this.writing.catch(() => {}).then(run)
    this.writing = done
    return done
  }

  private reloadIfChanged(force: boolean): void {
    const stats = statOrUndefined(this.path)
    const signature = signatureOf(stats)
    if (!force && signature === this.signature) return
    if (stats && process.platform !== 'win32' && stats.mode & 0o077) {
      throw ParleyError.DATA_CORRUPT(this.path, 'readable by others; fix with chmod 600')
    }
    const text = stats ? readTextOrUndefined(this.path) : undefined
    this.accounts = text === undefined ? [] : parseAccountsFile(this.path, text)
    this.signature = text === undefined ? 'absent' : signature
    if (this.lastError) this.log.info({ path: this.path, accounts: this.accounts.length }, 'accounts file usable again')
    this.lastError = undefined
  }
}

function parseAccountsFile(path: string, text: string): AccountRecord[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw ParleyError.DATA_CORRUPT(path, (err as Error).message)
  }
  const parsed = AccountsFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw ParleyError.DATA_CORRUPT(path, `${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  const seen = new Set<string>()
  return parsed.data.accounts.map((record, i) => {
    let aor: Aor
    try {
      aor = canonicalAor(record.aor)
    } catch (err) {
      throw ParleyError.DATA_CORRUPT(path, `accounts.${i}.aor: ${(err as Error).message}`)
    }
    for (const key of [`aor ${aor}`, `user ${JSON.stringify([record.username, record.realm])}`]) {
      if (seen.has(key)) throw ParleyError.DATA_CORRUPT(path, `accounts.${i}: duplicate ${key}`)
      seen.add(key)
    }
    return { ...record, aor }
  })
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined
    throw err
  }
}

/** Atomic renames give each write a new inode; size and times catch the rest. */
function signatureOf(stats: Stats | undefined): string {
  return stats ? `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}` : 'absent'
}

/** The file's text; undefined if it was removed between stat and read. */
function readTextOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined
    throw err
  }
}

function loginKey(username: string, realm: string): string {
  return `${username}\n${realm}`
}

function summary(record: AccountRecord): AccountSummary {
  return { aor: record.aor as Aor, username: record.username, realm: record.realm, createdAt: record.createdAt }
}


function checkText(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw ParleyError.BAD_REQUEST(`the ${what} must not be empty`)
  if (value.length > 256) throw ParleyError.BAD_REQUEST(`the ${what} is longer than 256 characters`)
  if ([...value].some((c) => c < ' ' || c === '\u007f')) throw ParleyError.BAD_REQUEST(`the ${what} must not contain control characters`)
  return value
}
