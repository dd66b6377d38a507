import { Keypad } from '../components/Keypad.js'
import { dtmfTestId } from '../phone/dtmf-keys.js'

/**
 * The dial pad view: keys type into the sidebar's address field (numbers of
 * the user's own domain: `1234` calls sip:1234@own-domain). During a call the
 * call panel above has its own keypad, which sends DTMF.
 */
export function DialPad(props: { value: string; onChange: (v: string) => void; onCall: (target: string) => void; disabled: boolean }) {
  return (
    <section className="dial-pad" aria-labelledby="dial-title">
      <h2 id="dial-title">Dial pad</h2>
      <output className="dial-pad__number" htmlFor="dial-input" aria-live="polite">
        {props.value || '\u00a0'}
      </output>
      <Keypad label="Dial pad" testId={(t) => dtmfTestId(t).replace('dtmf-', 'dial-key-')} onPress={(t) => props.onChange(props.value + t)} />
      <div className="dial-pad__actions">
        <button type="button" onClick={() => props.onChange(props.value.slice(0, -1))} disabled={!props.value} aria-label="Delete the last character">
          ⌫ Delete
        </button>
        <button type="button" className="primary" onClick={() => props.onCall(props.value)} disabled={props.disabled || !props.value.trim()}>
          Call
        </button>
      </div>
    </section>
  )
}
