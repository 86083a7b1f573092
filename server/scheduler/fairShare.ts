// Fair share as HPC schedulers have long done it (Slurm's classic algorithm): a user's factor is
// F = 2^(−U/S), where U is the user's share of all recent usage and S the user's share of all
// weights. Usage is workspace-CPU-seconds, decayed with a half-life, so what someone ran last
// month weighs half of what they ran a half-life later, and nothing for good.

/** Usage decayed from `asOf` to `now` with `halfLifeMs`. */
export function decay(usage: number, asOfMs: number, nowMs: number, halfLifeMs: number): number {
  if (usage <= 0) return 0;
  const elapsed = Math.max(0, nowMs - asOfMs);
  return usage * 2 ** (-elapsed / halfLifeMs);
}

/**
 * Each user's factor in (0, 1]: 1 for one who has used nothing, ½ for one whose share of usage
 * equals their share of the weights, lower the more they used beyond it. `usage` and `weight` are
 * indexed alike; weights must be positive.
 */
export function fairShareFactors(usage: readonly number[], weight: readonly number[]): number[] {
  let totalUsage = 0;
  let totalWeight = 0;
  for (let i = 0; i < usage.length; i++) {
    totalUsage += usage[i] ?? 0;
    totalWeight += weight[i] ?? 0;
  }
  return usage.map((u, i) => {
    if (totalUsage <= 0) return 1;
    const share = (weight[i] ?? 0) / totalWeight;
    return 2 ** (-(u / totalUsage) / share);
  });
}

/** Jain's fairness index of `xs`: 1 when all are equal, 1/n when one has everything. */
export function jainIndex(xs: readonly number[]): number {
  let sum = 0;
  let squares = 0;
  for (const x of xs) {
    sum += x;
    squares += x * x;
  }
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}
