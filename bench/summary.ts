/** n, p50, p95, mean, min and max of a sample, to 0.1 (NaN for an empty one). */
export function summary(values: number[]): { n: number; p50: number; p95: number; mean: number; min: number; max: number } {
  const s = [...values].sort((x, y) => x - y)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
  const round = (v: number) => Math.round(v * 10) / 10
  return { n: s.length, p50: round(at(0.5)), p95: round(at(0.95)), mean: round(s.reduce((x, y) => x + y, 0) / (s.length || 1)), min: round(s[0] ?? NaN), max: round(s[s.length - 1] ?? NaN) }
}
