import type { FormEvent } from 'react'

/** The address field and call button, always in the sidebar. */
export function DialForm(props: { value: string; onChange: (v: string) => void; onCall: (target: string) => void; disabled: boolean }) {
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (props.value.trim()) props.onCall(props.value)
  }
  return (
    <form className="dial-form" onSubmit={submit} role="search" aria-label="Call an address">
      <label htmlFor="dial-input">Call</label>
      <div className="inline-form">
        <input
          id="dial-input"
          data-testid="dial-input"
          value={props.value}
          onChange={(e) => props.onChange(e.target.value)}
          placeholder="sip:bob@example.org"
          autoComplete="off"
          inputMode="email"
        />
        <button type="submit" className="primary" data-testid="dial-call" disabled={props.disabled || !props.value.trim()} aria-label="Call this address">
          Call
        </button>
      </div>
    </form>
  )
}
