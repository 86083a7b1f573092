// `npm run bench:failover`: how long a task's viewers wait when the replica holding its agent
// dies. Three real replicas on one PostgreSQL behind real HAProxy (test/support/cluster.ts), the
// real agent and claude CLI against the scripted model stub. Each round starts a task whose turns
// come every 300 ms, opens a WebSocket viewer on a replica that does not hold the agent, and once
// events flow sends `kill -9` to the holder: the figure is the time from the kill to the first
// event the dead replica had not stored reaching the viewer (the agent reconnects through the load
// balancer, resends what was not acked, the task goes on). The baseline is the normal gap between two events of the same runs.
// The killed replica is started again after each round. Exits 1 when an event was lost or
// repeated, a prompt ran twice, or a task did not finish.
//
//   npm run bench:failover [-- --kills 10] [--lb haproxy|nginx]
import { parseArgs } from 'node:util';
import type { Task } from '../../sdk/taskWire.js';
import { startCluster } from '../../test/support/cluster.js';
import { call, untilTask, watchTask } from '../../test/support/clusterViewer.js';
import { intFlag, pct } from '../benchStats.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    lb: { type: 'string', default: 'haproxy' },
  },
});
const KILLS = intFlag('kills', values.kills, 50);
const LB = values.lb === 'nginx' ? 'nginx' : 'haproxy';
const TURNS = 16;
const TURN_DELAY_MS = 300;

const steps = (n: number) => ({
  turns: [
    ...Array.from({ length: n }, (_, i) => ({
      content: [{ type: 'tool_use' as const, name: 'Glob', input: { pattern: `*step${i}*` } }],
      delayMs: TURN_DELAY_MS,
    })),
    { content: [{ type: 'text' as const, text: 'All steps done.' }], delayMs: TURN_DELAY_MS },
  ],
});
const done = (t: Task) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<number> {
  const started = Date.now();
  const c = await startCluster({ lb: LB });
  const problems: string[] = [];
  const failovers: number[] = [];
  const gaps: number[] = [];
  try {
    const me = await c.member();
    for (let k = 0; k < KILLS; k++) {
      const scenario = `failover${k}`;
      c.stub.setScenario(scenario, steps(TURNS));
      const task = await call<Task>(c.lb.url, me.auth, 'POST', '/api/v1/tasks', {
        repository: c.git.url('app'),
        prompt: `[scenario:${scenario}] go`,
        permissionMode: 'default',
      });
      const holder = await c.waitForHolder(task.workspaceId as string, { timeoutMs: 40_000 });
      const at = c.replicas.find((r) => r.index !== holder);
      if (!at) throw new Error('no replica to watch from');
      const viewer = await watchTask(at.url, me.auth, task.id);
      // Events flow: a few tool turns in.
      await viewer.until((e) => e.seq >= 6, 30_000);
      const killedAt = Date.now();
      await c.kill(holder);
      // The next event is one the dead replica never stored: past the last seq in the store once
      // it is gone (an event it stored just before dying may still be on its way to the viewer).
      const [last] = await c.query<{ seq: number | null }>(
        'select max(seq) as seq from task_events where task_id = $1',
        [task.id],
      );
      const storedBefore = Number(last?.seq ?? 0);
      const next = await viewer.until((e) => e.seq > storedBefore, 60_000);
      failovers.push(next.at - killedAt);
      await viewer.until((e) => e.type === 'result', 60_000);
      const final = await untilTask(c.lb.url, me.auth, task.id, done, 60_000);
      const seqs = viewer.events.map((e) => e.seq);
      const stored = (
        await c.query<{ seq: number }>('select seq from task_events where task_id = $1 order by seq', [
          task.id,
        ])
      ).map((r) => Number(r.seq));
      if (final.status !== 'succeeded')
        problems.push(`round ${k}: task ${final.status}: ${final.statusReason}`);
      if (JSON.stringify(seqs) !== JSON.stringify(stored) || seqs.some((q, i) => q !== i + 1))
        problems.push(`round ${k}: viewer seqs ${seqs.join(',')} vs stored ${stored.join(',')}`);
      const runs = c.stub.requests.filter((r) => r.main && r.scenario === scenario && r.turn === 0).length;
      if (runs !== 1) problems.push(`round ${k}: the prompt ran ${runs} times`);
      // The normal gap: between consecutive events of the same run, not across the kill.
      for (let i = 1; i < viewer.events.length; i++) {
        const a = viewer.events[i - 1]?.at ?? 0;
        const b = viewer.events[i]?.at ?? 0;
        if (!(a <= killedAt && b > killedAt)) gaps.push(b - a);
      }
      viewer.close();
      await c.restart(holder);
      console.log(
        `  round ${k + 1}/${KILLS}: killed ${c.replicas[holder]?.name}, next event after ${s(failovers[k] ?? 0)}`,
      );
    }
  } catch (err) {
    console.error(c.describe());
    throw err;
  } finally {
    await c.close();
  }
  console.log(
    `\nfailover behind ${LB}, 3 replicas, ${KILLS} kill -9 of the replica holding a task's agent (${s(Date.now() - started)} in all)`,
  );
  console.log(
    `   kill -9 → next event at a viewer on another replica  p50 ${s(pct(failovers, 50))}  p95 ${s(pct(failovers, 95))}  max ${s(Math.max(...failovers))}`,
  );
  console.log(
    `   baseline: gap between two events, same runs          p50 ${s(pct(gaps, 50))}  p95 ${s(pct(gaps, 95))}`,
  );
  console.log(
    `   p95 failover / p95 gap: ${(pct(failovers, 95) / Math.max(1, pct(gaps, 95))).toFixed(1)}×  (target p95 ≤ 5 s)`,
  );
  if (problems.length) {
    console.log(`\nFAILED:\n${problems.join('\n')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
