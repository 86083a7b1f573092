// Resource sizes and CPU counts as the config writes them ("4G", "512Mi", "500m").

const SIZE = /^(\d+(?:\.\d+)?)([KMGT]i?)?$/;
const POWER: Record<string, number> = { K: 1, M: 2, G: 3, T: 4 };

/** "4G" → 4·1024³ bytes. Both "G" and "Gi" mean powers of 1024, as memory limits usually do. */
export function parseSize(value: string): number {
  const m = SIZE.exec(value);
  if (!m) throw new Error(`not a size: ${value}`);
  const unit = m[2]?.[0];
  return Math.round(Number(m[1]) * 1024 ** (unit ? (POWER[unit] ?? 0) : 0));
}

/** 2 → 2, "0.5" → 0.5, "500m" → 0.5 (Kubernetes' millicores). */
export function parseCpu(value: string | number): number {
  if (typeof value === 'number') return value;
  return value.endsWith('m') ? Number(value.slice(0, -1)) / 1000 : Number(value);
}
