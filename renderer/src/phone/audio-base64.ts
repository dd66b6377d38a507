/**
 * Base64 for recordings of up to MAX_VOICEMAIL_BYTES in the browser, where
 * there is no Buffer. `String.fromCharCode(...bytes)` on half a megabyte
 * overflows the call stack, so bytes go through in chunks; each chunk is a
 * multiple of 3 bytes so no `=` padding appears before the end.
 */
const DEFAULT_CHUNK = 0x8000

export function bytesToBase64(bytes: Uint8Array, chunk = DEFAULT_CHUNK): string {
  const step = Math.max(3, chunk - (chunk % 3))
  let out = ''
  for (let i = 0; i < bytes.length; i += step) out += btoa(String.fromCharCode(...bytes.subarray(i, i + step)))
  return out
}

export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

export async function blobToBase64(blob: Blob): Promise<string> {
  return bytesToBase64(new Uint8Array(await blob.arrayBuffer()))
}
