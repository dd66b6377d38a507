import { useEffect } from 'react'
import { toneForKeyEvent, type DtmfTone } from './dtmf-keys.js'

function editable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  return target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement
}

/** While `active`, 0-9 * # typed anywhere but in a text field send DTMF. */
export function useDtmfKeyboard(active: boolean, send: (tone: DtmfTone) => void): void {
  useEffect(() => {
    if (!active) return
    const onKey = (e: KeyboardEvent) => {
      const tone = toneForKeyEvent({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, repeat: e.repeat, editable: editable(e.target) })
      if (tone === null) return
      e.preventDefault()
      send(tone)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [active, send])
}
