// Small helpers every benchmark here uses: percentiles and validated whole-number flags.

/** The p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

/** A `--name` flag's value as a whole number from `min` to `max`, or an error naming the flag. */
export function intFlag(name: string, value: string, max: number, min = 1): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}
