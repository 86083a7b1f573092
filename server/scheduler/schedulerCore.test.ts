import { describe, expect, it } from 'vitest';
import { decay, fairShareFactors, jainIndex } from './fairShare.js';
import { burst, simulate } from './queueSim.js';
import {
  hours,
  type Limits,
  type NodeInfo,
  type QueuedTask,
  type SchedulerInput,
  schedule,
  type UserInfo,
  type WorkspaceInfo,
} from './schedulerCore.js';

const GiB = 2 ** 30;
const LIMITS: Limits = { concurrentTasks: 3, runningWorkspaces: 5, monthlySeconds: 100 * 3600 };

const user = (id: string, over: Partial<UserInfo> = {}): UserInfo => ({
  id,
  name: id,
  activeTasks: 0,
  runningWorkspaces: 0,
  monthSeconds: 0,
  usage: 0,
  weight: 1,
  limits: LIMITS,
  ...over,
});
const ws = (id: string, over: Partial<WorkspaceInfo> = {}): WorkspaceInfo => ({
  id,
  status: 'running',
  reachable: true,
  busy: false,
  cpu: 1,
  memoryBytes: 2 * GiB,
  ...over,
});
const task = (
  id: string,
  userId: string,
  workspaceId: string,
  queuedAtMs: number,
  over: Partial<QueuedTask> = {},
): QueuedTask => ({
  id,
  userId,
  workspaceId,
  priority: 'normal',
  queuedAtMs,
  ...over,
});

function input(
  queue: QueuedTask[],
  users: UserInfo[],
  workspaces: WorkspaceInfo[],
  nodes?: NodeInfo[],
): SchedulerInput {
  return {
    nowMs: 1_000_000,
    queue,
    users: new Map(users.map((u) => [u.id, u])),
    workspaces: new Map(workspaces.map((w) => [w.id, w])),
    nodes,
    expectedTaskSeconds: 600,
    monthResetsAt: 'on 2027-01-01 (UTC)',
  };
}

const byTask = (decisions: ReturnType<typeof schedule>) => new Map(decisions.map((d) => [d.taskId, d]));

describe('fair share', () => {
  it('is 1 without usage, ½ at one’s share, lower beyond it, and decays by half each half-life', () => {
    expect(fairShareFactors([0, 0], [1, 1])).toEqual([1, 1]);
    expect(fairShareFactors([50, 50], [1, 1])).toEqual([0.5, 0.5]);
    const [heavy, light] = fairShareFactors([90, 10], [1, 1]) as [number, number];
    expect(heavy).toBeLessThan(0.5);
    expect(light).toBeGreaterThan(0.5);
    // A weight of 3 makes 75 % of the usage that user's fair share.
    expect(fairShareFactors([75, 25], [3, 1])).toEqual([0.5, 0.5]);
    expect(decay(100, 0, 7 * 86_400_000, 7 * 86_400_000)).toBeCloseTo(50);
    expect(jainIndex([1, 1, 1])).toBe(1);
    expect(jainIndex([1, 0])).toBe(0.5);
  });
});

describe('the scheduler core', () => {
  it('orders by priority, then by usage per weight, then by arrival', () => {
    const users = [user('a', { usage: 1000 }), user('b'), user('c', { usage: 1000, weight: 4 })];
    const queue = [
      task('a1', 'a', 'wa', 1),
      task('b1', 'b', 'wb', 2),
      task('c1', 'c', 'wc', 3),
      task('a-high', 'a', 'wa2', 4, { priority: 'high' }),
      task('b-low', 'b', 'wb2', 0, { priority: 'low' }),
    ];
    const decisions = schedule(input(queue, users, [ws('wa'), ws('wb'), ws('wc'), ws('wa2'), ws('wb2')]));
    expect(decisions.map((d) => d.taskId)).toEqual(['a-high', 'b1', 'c1', 'a1', 'b-low']);
    expect(decisions.map((d) => d.position)).toEqual([1, 2, 3, 4, 5]);
  });

  it('goes round the users when several places free at once, instead of all to the first arrival', () => {
    const queue = [
      ...Array.from({ length: 6 }, (_, i) => task(`a${i}`, 'a', `wa${i}`, i)),
      task('b0', 'b', 'wb0', 10),
      task('b1', 'b', 'wb1', 11),
    ];
    const workspaces = [...Array.from({ length: 6 }, (_, i) => ws(`wa${i}`)), ws('wb0'), ws('wb1')];
    const started = schedule(input(queue, [user('a'), user('b')], workspaces))
      .filter((d) => d.action === 'start')
      .map((d) => d.taskId);
    expect(started).toEqual(['a0', 'b0', 'a1', 'b1', 'a2']);
  });

  it('holds a user at the concurrency quota, counting tasks whose workspace starts for them', () => {
    const queue = [task('t1', 'alice', 'w1', 1), task('t2', 'alice', 'w2', 2), task('t3', 'alice', 'w3', 3)];
    const d = byTask(
      schedule(
        input(
          queue,
          [user('alice', { activeTasks: 1, limits: { ...LIMITS, concurrentTasks: 3 } })],
          [ws('w1', { status: 'starting', reachable: false }), ws('w2'), ws('w3')],
        ),
      ),
    );
    expect(d.get('t1')).toMatchObject({ action: 'wait', reason: 'Waiting for its workspace to start' });
    expect(d.get('t2')).toMatchObject({ action: 'start' });
    expect(d.get('t3')).toMatchObject({
      action: 'wait',
      reason: 'alice has 3 of 3 concurrent tasks (quotas.maxConcurrentTasks)',
    });
  });

  it('runs one turn per workspace; the next waits behind it', () => {
    const d = byTask(
      schedule(
        input(
          [task('t1', 'a', 'w', 1), task('t2', 'a', 'w', 2), task('t3', 'a', 'busy', 3)],
          [user('a')],
          [ws('w'), ws('busy', { busy: true })],
        ),
      ),
    );
    expect(d.get('t1')?.action).toBe('start');
    expect(d.get('t2')).toMatchObject({
      action: 'wait',
      reason: 'Waiting for the task before it in this workspace',
    });
    expect(d.get('t3')).toMatchObject({
      action: 'wait',
      reason: 'Waiting for the task before it in this workspace',
    });
  });

  it('starts stopped workspaces within the running-workspace quota, and names it beyond', () => {
    const d = byTask(
      schedule(
        input(
          [task('t1', 'bob', 'w1', 1), task('t2', 'bob', 'w2', 2)],
          [user('bob', { runningWorkspaces: 1, limits: { ...LIMITS, runningWorkspaces: 2 } })],
          [
            ws('w1', { status: 'stopped', reachable: false }),
            ws('w2', { status: 'stopped', reachable: false }),
          ],
        ),
      ),
    );
    expect(d.get('t1')).toMatchObject({
      action: 'start_workspace',
      reason: 'Waiting for its workspace to start',
    });
    expect(d.get('t2')).toMatchObject({
      action: 'wait',
      reason: 'bob has 2 of 2 running workspaces (sessions.maxPerUser)',
    });
  });

  it('holds a user over the monthly hours with the reset date', () => {
    const [d] = schedule(
      input([task('t', 'carol', 'w', 1)], [user('carol', { monthSeconds: 100 * 3600 })], [ws('w')]),
    );
    expect(d).toMatchObject({
      action: 'wait',
      reason:
        'carol has used 100 of 100 workspace-hours this month (quotas.maxMonthlyHours); the allowance resets on 2027-01-01 (UTC)',
    });
  });

  it('packs nodes fullest first, never past their room, skips nodes not accepting, and says when none has room', () => {
    const stopped = (id: string) =>
      ws(id, { status: 'stopped', reachable: false, cpu: 2, memoryBytes: 4 * GiB });
    const nodes: NodeInfo[] = [
      { name: 'a', accepting: true, free: { cpu: 4, memoryBytes: 16 * GiB, workspaces: 5 } },
      { name: 'b', accepting: true, free: { cpu: 3, memoryBytes: 16 * GiB, workspaces: 5 } },
      { name: 'drained', accepting: false, free: { cpu: 64, memoryBytes: 256 * GiB, workspaces: 50 } },
    ];
    const users = ['u1', 'u2', 'u3', 'u4'].map((id) => user(id));
    const queue = users.map((u, i) => task(`t${i}`, u.id, `w${i}`, i));
    const decisions = schedule(
      input(
        queue,
        users,
        queue.map((t) => stopped(t.workspaceId as string)),
        nodes,
      ),
    );
    expect(decisions.map((d) => [d.action, d.node])).toEqual([
      ['start_workspace', 'b'],
      ['start_workspace', 'a'],
      ['start_workspace', 'a'],
      ['wait', undefined],
    ]);
    expect(decisions[3]?.reason).toBe('No node has room for a workspace of 2 CPU and 4096 MiB');
  });

  it('keeps a workspace on the node holding its files', () => {
    const nodes: NodeInfo[] = [
      { name: 'a', accepting: true, free: { cpu: 1, memoryBytes: GiB, workspaces: 1 } },
      { name: 'b', accepting: true, free: { cpu: 8, memoryBytes: 32 * GiB, workspaces: 5 } },
    ];
    const [d] = schedule(
      input([task('t', 'u', 'w', 1)], [user('u')], [ws('w', { status: 'stopped', node: 'a' })], nodes),
    );
    expect(d).toMatchObject({
      action: 'wait',
      reason: 'Node a, which holds its files, has no room for a workspace of 1 CPU and 2048 MiB',
    });
  });

  it('starts a workspace on a node without limits (Fargate reports no capacity: Infinity free)', () => {
    const inf = Number.POSITIVE_INFINITY;
    const nodes: NodeInfo[] = [
      { name: 'fargate', accepting: true, free: { cpu: inf, memoryBytes: inf, workspaces: inf } },
    ];
    const [d] = schedule(
      input([task('t', 'u', 'w', 1)], [user('u')], [ws('w', { status: 'stopped' })], nodes),
    );
    expect(d).toMatchObject({ action: 'start_workspace', node: 'fargate' });
  });

  it('fails a task whose workspace is gone or failed after it was queued, not one queued after the failure', () => {
    const d = byTask(
      schedule(
        input(
          [
            task('gone', 'u', 'missing', 1),
            task('late', 'u', 'broken', 100),
            task('early', 'u2', 'broken2', 1),
          ],
          [user('u'), user('u2')],
          [
            ws('broken', { status: 'failed', failedAtMs: 50, statusReason: 'image missing' }),
            ws('broken2', { status: 'failed', failedAtMs: 50, statusReason: 'image missing' }),
          ],
        ),
      ),
    );
    expect(d.get('gone')).toMatchObject({
      action: 'fail',
      reason: 'The workspace of this task was deleted.',
    });
    expect(d.get('late')?.action).toBe('start_workspace');
    expect(d.get('early')).toMatchObject({
      action: 'fail',
      reason: 'The workspace could not start: image missing',
    });
  });
});

describe('fairness on the virtual clock', () => {
  const base = {
    nodes: [{ name: 'n', cpu: 4, memoryBytes: 64 * GiB, maxWorkspaces: 4 }],
    workspace: { cpu: 1, memoryBytes: 2 * GiB },
    startDelayMs: 2_000,
    halfLifeMs: 7 * 86_400_000,
  };
  // The default quotas: 3 concurrent tasks, 5 running workspaces each.
  const users = [
    { id: 'A', limits: LIMITS },
    { id: 'B', limits: LIMITS },
  ];

  it('a burst of 30 from A does not starve B’s 3 that come after: B’s mean wait is under ⅕ of A’s', () => {
    const tasks = [...burst('A', 30, 0, 60_000), ...burst('B', 3, 1_000, 60_000)];
    const r = simulate({ ...base, users, tasks });
    const wait = (prefix: string) => {
      const ws = [...r.tasks]
        .filter(([id]) => id.startsWith(prefix))
        .map(([, t]) => (t.startedAtMs as number) - t.queuedAtMs);
      return ws.reduce((a, b) => a + b, 0) / ws.length;
    };
    expect([...r.tasks.values()].every((t) => t.finishedAtMs !== undefined)).toBe(true);
    const [a, b] = [wait('A'), wait('B')];
    expect(b, `A waits ${a} ms on average, B ${b} ms`).toBeLessThanOrEqual(a / 5);
    // B's all start before A's backlog has drained.
    const lastA = Math.max(
      ...[...r.tasks].filter(([id]) => id.startsWith('A')).map(([, t]) => t.startedAtMs as number),
    );
    const lastB = Math.max(
      ...[...r.tasks].filter(([id]) => id.startsWith('B')).map(([, t]) => t.startedAtMs as number),
    );
    expect(lastB).toBeLessThan(lastA);
  });

  it('with equal load the two users get equal throughput (Jain’s index ≥ 0.9)', () => {
    const tasks = ['A', 'B'].flatMap((u) =>
      Array.from({ length: 40 }, (_, i) => ({
        id: `${u}${i}`,
        userId: u,
        workspaceId: `${u}${i}`,
        atMs: u === 'A' ? 0 : 500,
        durationMs: 60_000,
      })),
    );
    // Halfway: both still have a backlog.
    const r = simulate({ ...base, users, tasks, untilMs: 10 * 60_000 });
    const done = (u: string) =>
      [...r.tasks].filter(([id, t]) => id.startsWith(u) && t.finishedAtMs !== undefined).length;
    const [a, b] = [done('A'), done('B')];
    expect(a + b).toBeGreaterThan(20);
    expect(jainIndex([a, b]), `A finished ${a}, B ${b}`).toBeGreaterThanOrEqual(0.9);
  });
});

describe('hours in a reason', () => {
  it('keeps whole hours, one decimal from 10 h, two digits below, so a small allowance still reads', () => {
    expect([100 * 3600, 12.34 * 3600, 1.5 * 3600, 36, 30].map(hours)).toEqual([
      '100',
      '12.3',
      '1.5',
      '0.01',
      '0.0083',
    ]);
  });
});
