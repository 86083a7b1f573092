// Three real `rclaude serve` replicas on one PostgreSQL behind real HAProxy, then real nginx
// (round-robin, no stickiness; their failure handling differs: active checks vs passive), workspaces whose real agents dial the load balancer, tasks run by the real claude
// CLI against the scripted model stub. A viewer on one replica follows a task whose agent is on
// another; terminals and file bytes cross replicas; `kill -9` of the replica holding an agent mid-task loses, repeats and re-runs nothing;
// `kill -9` of the reconcile leader hands the lock on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaList } from '../../sdk/replicaWire.js';
import type { Task } from '../../sdk/taskWire.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { type Cluster, type ClusterUser, startCluster } from '../support/cluster.js';
import { call, untilTask, type Viewer, watchTask } from '../support/clusterViewer.js';
import type { LoadBalancerKind } from '../support/loadBalancer.js';
import type { Scenario } from '../support/modelStub.js';
import { isLivePid } from '../support/sharedHostAgentDriver.js';
import { openTerminal } from '../support/terminalClient.js';

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

const balancers: LoadBalancerKind[] = ['haproxy', 'nginx'];

describe.each(balancers)('three replicas behind %s: tasks', (lbKind) => {
  let c: Cluster;
  let me: ClusterUser;
  beforeAll(async () => {
    c = await startCluster({
      lb: lbKind,
      scenarios: { steps: steps(6, 300), long: steps(14, 400), long2: steps(14, 400) },
    });
    me = await c.member();
  }, 90_000);
  afterAll(async () => {
    // RC_TEST_CLUSTER_LOGS=1: every replica's log even when all passed.
    if (process.env.RC_TEST_CLUSTER_LOGS) console.error(c?.describe(100_000));
    const agents = c?.driver.livePids() ?? [];
    const replicas = (c?.replicas ?? []).map((r) => r.pid()).filter((p) => p !== undefined);
    await c?.close();
    // Nothing of the cluster outlives it: agents run detached, so only the teardown ends them.
    expect(agents.length).toBeGreaterThan(0);
    expect([...agents, ...replicas].filter(isLivePid)).toEqual([]);
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

  it('a terminal opened through C on a workspace whose agent A holds echoes; a file written through B reads back through C', async () => {
    const holder = await c.waitForHolder(workspaceId);
    const [b, cc] = [1, 2].map((k) => c.replicas[(holder + k) % c.replicas.length]);
    if (!b || !cc) throw new Error('three replicas');
    const term = await openTerminal(
      `${cc.url.replace(/^http/, 'ws')}/api/v1/workspaces/${workspaceId}/terminals?cols=80&rows=24`,
      me.auth,
    );
    term.ws.send(Buffer.from('echo across-$((20+3))\r'));
    await term.waitFor(/across-23/);
    term.ws.send(JSON.stringify({ type: 'close' }));
    const body = `written through ${b.name} at ${Date.now()}\n`;
    const put = await fetch(`${b.url}/api/v1/workspaces/${workspaceId}/files/notes/cross.txt`, {
      method: 'PUT',
      headers: { authorization: me.auth },
      body,
    });
    expect(put.status, await put.clone().text()).toBe(200);
    const got = await fetch(`${cc.url}/api/v1/workspaces/${workspaceId}/files/notes/cross.txt`, {
      headers: { authorization: me.auth },
    });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(body);
    // Neither replica holds the agent: both went through the holder.
    expect(await c.holderOf(workspaceId)).toBe(holder);
    // And it is the box's own file.
    expect(readFileSync(join(c.driver.boxDir(workspaceId), 'workspace', 'notes', 'cross.txt'), 'utf8')).toBe(
      body,
    );
  }, 60_000);

  /** The registry as a replica answers it: the addresses of the replicas it lists. */
  const registry = async () =>
    (await call<ReplicaList>(lb(), c.admin.auth, 'GET', '/api/v1/replicas')).items.map((r) => r.address);
  const untilGone = async (url: string) => {
    const deadline = Date.now() + 15_000;
    while ((await registry()).includes(url)) {
      if (Date.now() > deadline) throw new Error(`${url} is still in the registry`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  /**
   * A long task with a viewer on every replica but `victim`; `victim` is killed once events flow.
   * Checks every viewer got every seq exactly once, the prompt ran once, the task succeeded, and
   * the dead replica left the registry. Restarts it at the end.
   */
  const killMidTask = async (scenario: string, pickVictim: (holder: number) => Promise<number>) => {
    const task = await newTask(scenario);
    const ws = task.workspaceId as string;
    const holder = await c.waitForHolder(ws, { timeoutMs: 40_000 });
    const victim = await pickVictim(holder);
    const viewers: Viewer[] = [];
    for (const r of c.replicas)
      if (r.index !== victim) viewers.push(await watchTask(r.url, me.auth, task.id));
    // And one on the victim itself: it loses its socket, and resumes through the load balancer.
    const onVictim = await watchTask(c.replicas[victim]?.url as string, me.auth, task.id);
    try {
      await viewers[0]?.until((e) => e.seq >= 5, 40_000);
      const killedAt = Date.now();
      await c.kill(victim);
      await expect.poll(() => onVictim.closed(), { timeout: 5_000 }).toBeDefined();
      const resumedAfter = onVictim.events.at(-1)?.seq ?? 0;
      const resumed = await watchTask(lb(), me.auth, task.id, resumedAfter);
      viewers.push(resumed);
      const [last] = await c.query<{ seq: number | null }>(
        'select max(seq) as seq from task_events where task_id = $1',
        [task.id],
      );
      const storedBefore = Number(last?.seq ?? 0);
      if (victim === holder) {
        const next = await c.waitForHolder(ws, { not: victim, timeoutMs: 15_000 });
        expect(next).not.toBe(victim);
      }
      for (const v of viewers) await v.until((e) => e.type === 'result', 60_000);
      const final = await untilTask(lb(), me.auth, task.id, done);
      expect(final.status, final.statusReason ?? '').toBe('succeeded');
      const stored = await storedSeqs(task.id);
      expect(stored).toEqual(stored.map((_, i) => i + 1));
      for (const v of viewers.slice(0, -1)) expect(v.events.map((e) => e.seq)).toEqual(stored);
      // The viewer that was on the dead replica: what it had, then the rest after resuming, once each.
      expect([...onVictim.events, ...resumed.events].map((e) => e.seq)).toEqual(stored);
      // The task went on past the kill: events the dead replica never stored reached the viewers live.
      expect(stored.length).toBeGreaterThan(storedBefore);
      for (const v of viewers.slice(0, -1))
        expect(v.events.filter((e) => e.seq > storedBefore).every((e) => e.at > killedAt)).toBe(true);
      expect(runsOf(scenario)).toBe(1);
      await untilGone(c.replicas[victim]?.url as string);
      expect(await registry()).toHaveLength(c.replicas.length - 1);
      return { task, victim };
    } finally {
      for (const v of viewers) v.close();
      onVictim.close();
      await c.restart(victim);
    }
  };

  it('kill -9 of the replica holding the agent mid-task: the agent reconnects, the task goes on, every event once, no re-run', async () => {
    await killMidTask('long', async (holder) => holder);
    // It comes back into the registry after its restart.
    expect(await registry()).toHaveLength(c.replicas.length);
  }, 120_000);

  it('kill -9 of the reconcile leader mid-task: another replica takes the lock and reconcile runs', async () => {
    // A second workspace whose box will die while the leader is dead: only a reconcile pass notices.
    const other = await call<Workspace>(lb(), me.auth, 'POST', '/api/v1/workspaces', {
      repository: c.git.url('other'),
    });
    await expect
      .poll(
        async () => (await call<Workspace>(lb(), me.auth, 'GET', `/api/v1/workspaces/${other.id}`)).status,
        {
          timeout: 40_000,
        },
      )
      .toBe('running');
    const startsBefore = c.driver.starts(other.id);
    let leader: number | undefined;
    const { victim } = await killMidTask('long2', async () => {
      await expect.poll(async () => (leader = await c.reconcileLeader()), { timeout: 10_000 }).toBeDefined();
      return leader as number;
    });
    expect(victim).toBe(leader);
    // killMidTask restarted it; the lock stayed with whoever took it over.
    const next = await c.reconcileLeader();
    expect(next).toBeDefined();
    expect(next).not.toBe(victim);
    // The box dies now; the new leader's pass starts it again.
    const pid = c.driver.pid(other.id);
    expect(pid).toBeDefined();
    process.kill(-(pid as number), 'SIGKILL');
    await expect.poll(() => c.driver.starts(other.id), { timeout: 15_000 }).toBe(startsBefore + 1);
    expect(
      c.replicas[next as number]?.logs.some((l) => l.includes('restarted a workspace box that had stopped')),
    ).toBe(true);
    await c.waitForHolder(other.id, { timeoutMs: 20_000 });
  }, 150_000);
});
