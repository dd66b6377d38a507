import { DTMF_TONES, type DtmfTone } from '../phone/dtmf-keys.js'

const LETTERS: Partial<Record<DtmfTone, string>> = { '2': 'ABC', '3': 'DEF', '4': 'GHI', '5': 'JKL', '6': 'MNO', '7': 'PQRS', '8': 'TUV', '9': 'WXYZ' }
const NAMES: Partial<Record<DtmfTone, string>> = { '*': 'star', '#': 'hash' }

/** The twelve phone keys. */
export function Keypad(props: { label: string; testId: (tone: DtmfTone) => string; onPress: (tone: DtmfTone) => void; disabled?: boolean }) {
  return (
    <div className="keypad" role="group" aria-label={props.label}>
      {DTMF_TONES.map((tone) => (
        <button
          key={tone}
          type="button"
          className="keypad__key"
          data-testid={props.testId(tone)}
          aria-label={NAMES[tone] ?? tone}
          disabled={props.disabled}
          onClick={() => props.onPress(tone)}
        >
          <span className="keypad__digit">{tone}</span>
          <span className="keypad__letters" aria-hidden="true">
            {LETTERS[tone] ?? '\u00a0'}
          </span>
        </button>
      ))}
    </div>
  )
}
