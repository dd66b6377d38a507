import { useState, type FormEvent } from 'react'
import type { Identity } from '../../../app/api/contract.js'
import { errorText, useApi } from '../api.js'

/**
 * First run: the peer has no AOR yet. The user picks one and a display name;
 * the peer makes the key pair, and the fingerprint is shown so the user can
 * read it to buddies who want to check it.
 */
export function FirstRun({ identity, onDone }: { identity: Identity; onDone: () => void }) {
  const api = useApi()
  const [aor, setAor] = useState('')
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const target = aor.trim().replace(/^(?!sips?:)/i, 'sip:')
      await api.call('identity.setup', name.trim() ? { aor: target, displayName: name.trim() } : { aor: target })
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  if (identity.state !== 'setup' && identity.fingerprint) {
    return (
      <main className="first-run">
        <h1>Welcome to Parley</h1>
        <p>
          You are <strong>{identity.displayName ?? identity.aor}</strong> ({identity.aor}).
        </p>
        <p>Your key fingerprint — buddies can compare it with what their Parley shows for you:</p>
        <p className="fingerprint" data-testid="fingerprint">
          {identity.fingerprint}
        </p>
        <p role="status">{identity.state === 'running' ? 'Online.' : identity.state === 'failed' ? 'The peer did not start.' : 'Joining the overlay…'}</p>
        <button type="button" className="primary" data-testid="setup-continue" disabled={identity.state !== 'running'} onClick={onDone}>
          Continue
        </button>
      </main>
    )
  }

  return (
    <main className="first-run">
      <h1>Welcome to Parley</h1>
      <p>Choose the address people will call you at. Parley makes a key pair for it; nobody else can announce it with your key.</p>
      <form onSubmit={(e) => void submit(e)} className="stack">
        <label>
          Your address (AOR)
          <input data-testid="setup-aor" required value={aor} onChange={(e) => setAor(e.target.value)} placeholder="sip:alice@example.org" autoComplete="off" autoFocus />
        </label>
        <label>
          Display name
          <input data-testid="setup-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Alice" autoComplete="name" />
        </label>
        <button type="submit" className="primary" data-testid="setup-submit" disabled={busy || !aor.trim()}>
          {busy ? 'Setting up…' : 'Create my identity'}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  )
}
