// The scheduler core's fast path against its definition: on many random queues, deciding each
// user's lane on its own (and only contested tasks in the queue's order) gives exactly what
// serving every task in the queue's order (`strict: true`) gives; and the nodes' room, kept in
// order of free CPU, picks the node a scan of every node would.
import { describe, expect, it } from 'vitest';
import {
  type NodeInfo,
  NodeRoom,
  PRIORITIES,
  type QueuedTask,
  type SchedulerInput,
  schedule,
  type UserInfo,
  type WorkspaceInfo,
} from './schedulerCore.js';

const GiB = 2 ** 30;

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}

const STATUSES = ['pending', 'starting', 'running', 'running', 'stopping', 'stopped', 'stopped', 'failed'];

function randomInput(seed: number): SchedulerInput {
  const r = rng(seed);
  const nowMs = 1_000_000;
  const users: UserInfo[] = Array.from({ length: 1 + r.int(8) }, (_, i) => ({
    id: `u${i}`,
    name: `user ${i}`,
    activeTasks: r.int(3),
    runningWorkspaces: r.int(3),
    monthSeconds: r.pick([0, 3600, 100 * 3600]),
    // Few distinct values, so usage ties (and arrival decides) happen.
    usage: r.pick([0, 0, 100, 500]),
    weight: r.pick([1, 1, 2]),
    limits: {
      concurrentTasks: r.pick([0, 1, 3, 5]),
      runningWorkspaces: r.pick([1, 2, 5]),
      monthlySeconds: r.pick([50 * 3600, 200 * 3600]),
    },
  }));
  const nodeNames = Array.from({ length: r.int(6) }, (_, i) => `n${i}`);
  const workspaces: WorkspaceInfo[] = Array.from({ length: 1 + r.int(14) }, (_, i) => {
    const status = r.pick(STATUSES);
    const owner = r.pick(users).id;
    return {
      id: `w${i}`,
      // Sometimes unknown: the core then finds shared workspaces by itself.
      ownerId: r.next() < 0.7 ? owner : undefined,
      status,
      reachable: status === 'running' && r.next() < 0.8,
      busy: status === 'running' && r.next() < 0.3,
      cpu: r.pick([0.5, 1, 1, 2, 1 / 3]),
      memoryBytes: r.pick([1, 2, 4]) * GiB,
      node: nodeNames.length > 0 && r.next() < 0.2 ? r.pick(nodeNames) : undefined,
      heldUntilMs: r.next() < 0.1 ? nowMs + r.pick([-1, 1]) * 1000 : undefined,
      failedAtMs: status === 'failed' ? r.int(100) : undefined,
      statusReason: status === 'failed' ? 'it broke' : null,
    };
  });
  const owned = (u: string) => workspaces.filter((w) => w.ownerId === u || w.ownerId === undefined);
  const queue: QueuedTask[] = Array.from({ length: r.int(60) }, (_, i) => {
    const u = r.pick(users).id;
    const mine = owned(u);
    // Mostly the user's own workspaces; some on another's (shared), some on a deleted one.
    const roll = r.next();
    const workspaceId =
      roll < 0.05 ? 'gone' : roll < 0.15 || mine.length === 0 ? r.pick(workspaces).id : r.pick(mine).id;
    return {
      id: `t${String(r.int(1000)).padStart(3, '0')}-${i}`,
      userId: r.next() < 0.03 ? 'nobody' : u,
      workspaceId,
      priority: r.pick([...PRIORITIES, 'normal', 'normal']) as QueuedTask['priority'],
      queuedAtMs: r.int(40),
    };
  });
  // The store's order (by owner, then arrival) or any order at all.
  if (r.next() < 0.5) {
    queue.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : a.queuedAtMs - b.queuedAtMs));
  }
  const nodes: NodeInfo[] | undefined =
    nodeNames.length === 0 && r.next() < 0.5
      ? undefined
      : nodeNames.map((name) => ({
          name,
          accepting: r.next() > 0.15,
          free: {
            cpu: r.pick([0, 0.5, 1, 1, 2, 3.5, 2 / 3]),
            memoryBytes: r.pick([0, 2, 4, 8]) * GiB,
            workspaces: r.int(3),
          },
        }));
  return {
    nowMs,
    queue,
    users: new Map(users.map((u) => [u.id, u])),
    workspaces: new Map(workspaces.map((w) => [w.id, w])),
    nodes,
    expectedTaskSeconds: r.pick([0, 600]),
    monthResetsAt: 'on 2027-01-01 (UTC)',
  };
}

describe('the scheduler core’s fast path', () => {
  it('decides exactly what serving every task in the queue’s order decides (2,000 random queues)', () => {
    let contested = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const input = randomInput(seed);
      const strict = schedule(input, { strict: true });
      expect(schedule(input), `seed ${seed}`).toEqual(strict);
      // The pass's form: the same decisions, starts first in the queue's order.
      const rough = schedule(input, { positions: false });
      const starts = strict.filter((d) => d.action === 'start' || d.action === 'start_workspace');
      expect(
        rough.slice(0, starts.length).map((d) => d.taskId),
        `seed ${seed}`,
      ).toEqual(starts.map((d) => d.taskId));
      const plain = (ds: typeof strict) =>
        ds.map((d) => ({ ...d, position: 0 })).sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
      expect(plain(rough), `seed ${seed}`).toEqual(plain(strict));
      if (starts.some((d) => d.node !== undefined)) contested++;
    }
    // The generator does reach the contested part: starts that took room on a node.
    expect(contested).toBeGreaterThan(200);
  });
});

/** The node a scan of every node picks: the fullest by CPU that fits, the first of equals. */
function scan(free: NodeInfo['free'][], cpu: number, memoryBytes: number): number {
  const fits = free
    .map((f, i) => ({ f, i }))
    .filter(({ f }) => f.workspaces >= 1 && f.cpu + 1e-9 >= cpu && f.memoryBytes >= memoryBytes);
  const exact = fits.find(({ f }) => f.cpu <= cpu + 1e-9);
  if (exact) return exact.i;
  fits.sort((a, b) => a.f.cpu - b.f.cpu || a.i - b.i);
  return fits[0]?.i ?? -1;
}

describe('the nodes’ room', () => {
  it('packs each workspace where a scan of every node would, pinned or not, until nothing fits', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const nodes: NodeInfo[] = Array.from({ length: 1 + r.int(40) }, (_, i) => ({
        name: `n${i}`,
        accepting: true,
        free: {
          cpu: r.pick([0, 0.5, 1, 2, 4, 1 / 3, 2 / 3]),
          memoryBytes: r.int(9) * GiB,
          workspaces: r.int(4),
        },
      }));
      const room = new NodeRoom(nodes);
      const free = nodes.map((n) => ({ ...n.free }));
      for (let k = 0; k < 60; k++) {
        const cpu = r.pick([0.5, 1, 1 / 3, 2]);
        const memoryBytes = r.pick([1, 2]) * GiB;
        const pinned = r.next() < 0.2 ? r.pick(nodes).name : undefined;
        let want: number;
        if (pinned === undefined) want = scan(free, cpu, memoryBytes);
        else {
          const i = Number(pinned.slice(1));
          const f = free[i] as NodeInfo['free'];
          want = f.workspaces >= 1 && f.cpu + 1e-9 >= cpu && f.memoryBytes >= memoryBytes ? i : -1;
        }
        const got = room.take(cpu, memoryBytes, pinned);
        expect(got, `seed ${seed}, take ${k}`).toBe(want < 0 ? undefined : `n${want}`);
        if (want >= 0) {
          const f = free[want] as NodeInfo['free'];
          f.cpu -= cpu;
          f.memoryBytes -= memoryBytes;
          f.workspaces -= 1;
        }
      }
    }
  });
});
