/** The twelve keys of a phone keypad, in keypad order. */
export const DTMF_TONES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const
export type DtmfTone = (typeof DTMF_TONES)[number]

const TONES: ReadonlySet<string> = new Set(DTMF_TONES)

export function isDtmfTone(key: string): key is DtmfTone {
  return TONES.has(key)
}

/** What a key press means during a call; `editable` when focus is in a text field. */
export interface DtmfKeyPress {
  key: string
  ctrlKey: boolean
  metaKey: boolean
  altKey: boolean
  repeat: boolean
  editable: boolean
}

/**
 * The tone a key press sends, or null. Shift is allowed (`#` and `*` are shifted
 * on most layouts); shortcuts, auto-repeat and typing into a field are not tones.
 */
export function toneForKeyEvent(e: DtmfKeyPress): DtmfTone | null {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || e.editable) return null
  return isDtmfTone(e.key) ? e.key : null
}

/** `dtmf-0`…`dtmf-9`, `dtmf-star`, `dtmf-hash`. */
export function dtmfTestId(tone: DtmfTone): string {
  return `dtmf-${tone === '*' ? 'star' : tone === '#' ? 'hash' : tone}`
}
