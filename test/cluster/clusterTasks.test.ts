// Three real `rclaude serve` replicas on one PostgreSQL behind real HAProxy (round-robin, no
// stickiness), workspaces whose real agents dial the load balancer, tasks run by the real claude
// CLI against the scripted model stub. A viewer on one replica follows a task whose agent is on
// another; `kill -9` of the replica holding an agent mid-task loses, repeats and re-runs nothing;
// `kill -9` of the reconcile leader hands the lock on.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import { type Cluster, type ClusterUser, startCluster } from '../support/cluster.js';
import { call, untilTask, watchTask } from '../support/clusterViewer.js';
import type { Scenario } from '../support/modelStub.js';

/** Read-only tool calls (no approval needed), each turn a little later than the one before. */
const steps = (n: number, delayMs: number): Scenario => ({
  turns: [
    ...Array.from({ length: n }, (_, i) => ({
      content: [{ type: 'tool_use' as const, name: 'Glob', input: { pattern: `*step${i}*` } }],
      delayMs,
    })),
    { content: [{ type: 'text' as const, text: 'All steps done.' }], delayMs },
  ],
});

const done = (t: Task) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);

describe('three replicas behind HAProxy: tasks', () => {
  let c: Cluster;
  let me: ClusterUser;
  beforeAll(async () => {
    c = await startCluster({
      scenarios: { steps: steps(6, 300), long: steps(14, 400), after: steps(1, 100) },
    });
    me = await c.member();
  }, 90_000);
  afterAll(async () => {
    await c?.close();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(c?.describe());
  });

  const lb = () => c.lb.url;
  const storedSeqs = async (taskId: string) =>
    (
      await c.query<{ seq: number }>('select seq from task_events where task_id = $1 order by seq', [taskId])
    ).map((r) => Number(r.seq));
  /** First-turn requests of a prompt: one per run of it. */
  const runsOf = (scenario: string) =>
    c.stub.requests.filter((r) => r.main && r.scenario === scenario && r.turn === 0).length;
  const newTask = (scenario: string, repo = 'app') =>
    call<Task>(lb(), me.auth, 'POST', '/api/v1/tasks', {
      repository: c.git.url(repo),
      prompt: `[scenario:${scenario}] go`,
      permissionMode: 'default',
    });

  let workspaceId: string;

  it('a viewer on replica A follows a task whose agent is on replica B: every seq once, no gap, live', async () => {
    const task = await newTask('steps');
    workspaceId = task.workspaceId as string;
    const holder = await c.waitForHolder(workspaceId, { timeoutMs: 40_000 });
    const other = c.replicas.find((r) => r.index !== holder) ?? c.replicas[0];
    if (!other) throw new Error('no other replica');
    const viewer = await watchTask(other.url, me.auth, task.id);
    const opened = Date.now();
    await viewer.until((e) => e.type === 'result', 60_000);
    const final = await untilTask(lb(), me.auth, task.id, done);
    expect(final.status, final.statusReason ?? '').toBe('succeeded');
    // Still on the holder: the test watched across replicas.
    expect(await c.holderOf(workspaceId)).toBe(holder);
    const seqs = viewer.events.map((e) => e.seq);
    expect(seqs).toEqual(await storedSeqs(task.id));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    // Live: events kept arriving after the viewer opened, spread over the turns, not all at the end.
    const live = viewer.events.filter((e) => e.at > opened + 50);
    expect(live.length).toBeGreaterThanOrEqual(4);
    expect((live.at(-1)?.at ?? 0) - (live[0]?.at ?? 0)).toBeGreaterThan(600);
    viewer.close();
  }, 90_000);
});
