// `npm run bench:scheduler`: the scheduler core's figures, each beside its baseline in the same run.
//
//   1. pass: one scheduling pass (schedulerCore.schedule) over Q queued tasks of U users with N
//      nodes, in the store's order, p50/p99 over R passes (wall clock, and this process's CPU time,
//      which other load on the machine moves less), beside sorting the same queue by arrival
//      (target: p99 ≤ 2 ms at 10,000 tasks, 500 users, 1,000 nodes); also the same queue in no
//      order, and the queue view (every position);
//   2. burst: the fairness test's burst on the virtual clock (queueSim.ts) — user A submits 30
//      tasks, then B 3; B's mean wait beside A's (target: ≤ ⅕).
//
//   npm run bench:scheduler [-- --tasks 10000] [--users 500] [--nodes 1000] [--passes 200]
//
// Pure computation, no I/O: nothing to clean up.
import { parseArgs } from 'node:util';
import { burst, simulate } from '../../server/scheduler/queueSim.js';
import { schedule } from '../../server/scheduler/schedulerCore.js';
import { intFlag, pct } from '../benchStats.js';
import { bigInput } from './input.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    users: { type: 'string', default: '500' },
    nodes: { type: 'string', default: '1000' },
    passes: { type: 'string', default: '200' },
  },
});
const Q = intFlag('tasks', values.tasks, 1_000_000);
const U = intFlag('users', values.users, 100_000);
const N = intFlag('nodes', values.nodes, 100_000);
const R = intFlag('passes', values.passes, 100_000);
const GiB = 2 ** 30;

/** Wall and CPU time of each of R calls of fn (after a warm-up), in ms. */
function timeIt(fn: () => void, n = R): { wall: number[]; cpu: number[] } {
  for (let i = 0; i < 10; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const input = bigInput(Q, U, N);
// The same queue in no particular order: the core then groups by lookup and sorts every lane.
const shuffled = { ...input, queue: [...input.queue].sort((a, b) => (a.id < b.id ? -1 : 1)) };
const runs = {
  pass: { wall: [] as number[], cpu: [] as number[] },
  shuffled: { wall: [] as number[], cpu: [] as number[] },
  plan: { wall: [] as number[], cpu: [] as number[] },
  sort: { wall: [] as number[], cpu: [] as number[] },
};
const add = (into: { wall: number[]; cpu: number[] }, r: { wall: number[]; cpu: number[] }) => {
  into.wall.push(...r.wall);
  into.cpu.push(...r.cpu);
};
// Interleaved, so a noisy moment on the machine hits all alike.
for (let round = 0; round < 4; round++) {
  const n = Math.ceil(R / 4);
  add(
    runs.pass,
    timeIt(() => schedule(input, { positions: false }), n),
  );
  add(
    runs.shuffled,
    timeIt(() => schedule(shuffled, { positions: false }), n),
  );
  add(
    runs.plan,
    timeIt(() => schedule(input), n),
  );
  add(
    runs.sort,
    timeIt(() => [...input.queue].sort((a, b) => a.queuedAtMs - b.queuedAtMs), n),
  );
}
const decisions = schedule(input);
const rough = schedule(input, { positions: false });
const same = (a: typeof decisions, b: typeof decisions) => {
  const m = new Map(b.map((d) => [d.taskId, `${d.action} ${d.reason} ${d.node}`]));
  return a.length === b.length && a.every((d) => m.get(d.taskId) === `${d.action} ${d.reason} ${d.node}`);
};
if (!same(decisions, rough) || !same(decisions, schedule(input, { strict: true }))) {
  console.error('the pass, the queue view and the strict definition disagree on a decision');
  process.exitCode = 1;
}
const counts = new Map<string, number>();
for (const d of decisions) counts.set(d.action, (counts.get(d.action) ?? 0) + 1);
const fmt = (r: { wall: number[]; cpu: number[] }) =>
  `p50 ${pct(r.wall, 50).toFixed(2)} ms, p99 ${pct(r.wall, 99).toFixed(2)} ms (CPU time p50 ${pct(r.cpu, 50).toFixed(2)}, p99 ${pct(r.cpu, 99).toFixed(2)})`;
console.log(
  `pass: ${Q} queued tasks, ${U} users, ${N} nodes (${[...counts].map(([a, n]) => `${n} ${a}`).join(', ')})`,
);
console.log(`  the pass's decisions:          ${fmt(runs.pass)}`);
console.log(`  the same, queue in no order:   ${fmt(runs.shuffled)}`);
console.log(`  with every position (queue):   ${fmt(runs.plan)}`);
console.log(`  sort by arrival (baseline):    ${fmt(runs.sort)}`);
const p99 = pct(runs.pass.wall, 99);
console.log(
  `  ratio p99: ${(p99 / pct(runs.sort.wall, 99)).toFixed(2)}× the baseline; target p99 ≤ 2 ms: ${p99 <= 2 ? 'met' : 'MISSED'}`,
);

const limits = { concurrentTasks: 3, runningWorkspaces: 5, monthlySeconds: 100 * 3600 };
const burstRun = simulate({
  users: [
    { id: 'A', limits },
    { id: 'B', limits },
  ],
  tasks: [...burst('A', 30, 0, 60_000), ...burst('B', 3, 1_000, 60_000)],
  nodes: [{ name: 'n', cpu: 4, memoryBytes: 64 * GiB, maxWorkspaces: 4 }],
  workspace: { cpu: 1, memoryBytes: 2 * GiB },
  startDelayMs: 2_000,
  halfLifeMs: 7 * 86_400_000,
});
const meanWait = (prefix: string) => {
  const w = [...burstRun.tasks]
    .filter(([id]) => id.startsWith(prefix))
    .map(([, t]) => (t.startedAtMs ?? Number.NaN) - t.queuedAtMs);
  return w.reduce((a, b) => a + b, 0) / w.length / 1000;
};
const a = meanWait('A');
const b = meanWait('B');
console.log('burst: A submits 30 tasks of 60 s, then B 3; one node of 4 workspaces; default quotas');
console.log(
  `  B mean wait ${b.toFixed(1)} s beside A's ${a.toFixed(1)} s: ${(b / a).toFixed(2)} (target ≤ 0.20: ${b / a <= 0.2 ? 'met' : 'MISSED'})`,
);
