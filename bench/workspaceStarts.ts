// What the driver benchmarks (bench:docker, bench:kubernetes, bench:ecs) measure alike: bare
// `docker run` of the workspace image as the baseline, and create → agent connected for new
// workspaces of new users through a running control plane, with the line that compares the two.
import { execFileSync } from 'node:child_process';
import type { Services } from '../server/services.js';
import { pct } from './benchStats.js';

/** Milliseconds of each of `n` runs of `docker run --rm --network none <image> true`. */
export function bareDockerRuns(image: string, n: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    execFileSync('docker', ['run', '--rm', '--network', 'none', image, 'true'], { stdio: 'ignore' });
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * Creates `n` workspaces of `repository`, each for a new member, one after the other, and times
 * each from the create to its agent connecting; waits for each to be running. Pushes their ids to
 * `ids` as they are made (so the caller removes them even when this throws).
 */
export async function timeCreateToConnected(
  s: Services,
  o: { n: number; repository: string; ids: string[]; emailPrefix?: string },
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < o.n; i++) {
    const user = await s.users.create({
      email: `${o.emailPrefix ?? 'bench'}-${i}@example.test`,
      name: null,
      role: 'member',
      passwordHash: null,
    });
    const t0 = performance.now();
    const connected = new Promise<void>((resolve) => {
      const on = () => {
        s.runtime.hub.off('connected', on);
        resolve();
      };
      s.runtime.hub.on('connected', on);
    });
    const { row } = await s.runtime.service.create(user.id, { repository: o.repository });
    o.ids.push(row.id);
    await connected;
    times.push(performance.now() - t0);
    const done = await s.runtime.service.settled(row.id, 120_000);
    if (done?.status !== 'running')
      throw new Error(`workspace ${i} is ${done?.status}: ${done?.status_reason}`);
  }
  return times;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Prints ours beside bare docker run at p50/p95 and the p50 ratio against `target`. */
export function printStartRatio(label: string, ours: number[], bare: number[], target = 1.5): number {
  console.log(`   ${label.padEnd(30)}p50 ${ms(pct(ours, 50))}  p95 ${ms(pct(ours, 95))}`);
  console.log(
    `   ${'docker run --rm <image> true'.padEnd(30)}p50 ${ms(pct(bare, 50))}  p95 ${ms(pct(bare, 95))}`,
  );
  const ratio = pct(ours, 50) / pct(bare, 50);
  console.log(
    `   ratio at p50: ${ratio.toFixed(2)}  (target ≤ ${target})  ${ratio <= target ? 'PASS' : 'MISS'}`,
  );
  return ratio;
}
