/** A small deterministic PRNG (mulberry32) so a failure can be replayed. */
export function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function mutate(base: Buffer, r: () => number): Buffer {
  let b = Buffer.from(base)
  const n = 1 + Math.floor(r() * 4)
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * b.length)
    switch (Math.floor(r() * 8)) {
      case 0: b[at] = Math.floor(r() * 256); break // flip a byte
      case 1: b = b.subarray(0, at); break // truncate
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.alloc(Math.floor(r() * 64), Math.floor(r() * 256)), b.subarray(at)]); break
      case 3: b = Buffer.concat([b.subarray(0, at), Buffer.from('\r\nContent-Length: ' + Math.floor(r() * 1e10) + '\r\n'), b.subarray(at)]); break
      case 4: b = Buffer.concat([b.subarray(0, at), Buffer.from('\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK' + at + ',,;;\r\n'), b.subarray(at)]); break
      case 5: b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + Math.floor(r() * 200)), b.subarray(at)]); break // duplicate a run
      case 6: b = Buffer.from(b.toString('latin1').replace(/\r\n/, '\n'), 'latin1'); break
      default: b = Buffer.concat([b.subarray(0, at), Buffer.from(' ;,<>"\\%\x00'[Math.floor(r() * 10)] ?? ''), b.subarray(at)])
    }
  }
  return b
}
