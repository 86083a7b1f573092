import { describe, expect, it } from 'vitest';
import {
  type AutoscalerInput,
  autoscale,
  type PoolLimits,
  type PoolNode,
  targetTracking,
} from './autoscaler.js';

const GiB = 2 ** 30;
const SIZE = { cpu: 4, memoryBytes: 16 * GiB, workspaces: 4 };
const LIMITS: PoolLimits = {
  minInstances: 1,
  maxInstances: 5,
  targetUtilization: 0.7,
  scaleUpThreshold: 0.8,
  scaleDownThreshold: 0.3,
  cooldownMs: 300_000,
  idleTimeoutMs: 900_000,
};
const node = (name: string, workspaces: number, over: Partial<PoolNode> = {}): PoolNode => ({
  name,
  state: 'ready',
  capacity: SIZE,
  reserved: { cpu: workspaces, memoryBytes: workspaces * 4 * GiB, workspaces },
  emptySinceMs: workspaces === 0 ? 0 : undefined,
  ...over,
});
const input = (over: Partial<AutoscalerInput>): AutoscalerInput => ({
  nowMs: 10_000_000,
  nodes: [],
  waiting: [],
  newNode: SIZE,
  limits: LIMITS,
  ...over,
});
const wait = (n: number, cpu = 1) =>
  Array.from({ length: n }, () => ({ sinceMs: 9_990_000, cpu, memoryBytes: 4 * GiB }));

describe('the autoscaler', () => {
  it('adds the nodes that the waiting starts need, counting booting nodes, never above max', () => {
    const full = [node('a', 4), node('b', 4)];
    expect(autoscale(input({ nodes: full, waiting: wait(5) }))).toEqual([
      {
        kind: 'add',
        count: 2,
        reason: '5 workspace starts wait for room (the oldest 10 s): adding 2 nodes',
      },
    ]);
    // A booting node's room counts: nothing more to add for what it will hold.
    const booting = node('c', 0, { state: 'booting' });
    expect(autoscale(input({ nodes: [...full, booting], waiting: wait(4) }))).toEqual([]);
    // Max 5 nodes: 3 more wanted, 1 allowed.
    const four = [...full, node('c', 4), node('d', 4)];
    expect(autoscale(input({ nodes: four, waiting: wait(9) }))[0]).toMatchObject({
      kind: 'add',
      count: 1,
      reason: expect.stringContaining('(3 wanted; pooling.maxInstances is 5)'),
    });
    // A start no node could ever hold adds nothing.
    expect(autoscale(input({ nodes: [node('a', 2), node('b', 2)], waiting: wait(1, 8) }))).toEqual([]);
  });

  it('adds before the threshold is crossed for good: above scaleUpThreshold, back to the target', () => {
    // 7 of 8 workspace slots: 88 % > 80 %; 7 / (0.7 × 4) → 3 nodes, one more.
    const actions = autoscale(input({ nodes: [node('a', 4), node('b', 3)] }));
    expect(actions).toEqual([
      {
        kind: 'add',
        count: 1,
        reason: 'utilisation 88 % is above pooling.scaling.scaleUpThreshold (80 %): adding 1 node',
      },
    ]);
  });

  it('takes a cordoned node back before adding one', () => {
    const actions = autoscale(
      input({ nodes: [node('a', 4), node('b', 2, { state: 'cordoned' })], waiting: wait(2) }),
    );
    expect(actions).toEqual([
      {
        kind: 'uncordon',
        node: 'b',
        reason: '2 workspace starts wait for room: node b takes workspaces again',
      },
    ]);
  });

  it('keeps minInstances', () => {
    expect(autoscale(input({ nodes: [] }))).toEqual([
      { kind: 'add', count: 1, reason: 'the pool has 0 of pooling.minInstances 1 nodes: adding 1 node' },
    ]);
  });

  it('drains a node the others can do without, then removes it once empty for idleTimeout, outside the cooldown', () => {
    const nodes = [node('a', 2), node('b', 0)];
    // b is at 0 %, and a holds the pool's load at 50 % ≤ 70 %.
    expect(autoscale(input({ nodes }))).toEqual([
      {
        kind: 'cordon',
        node: 'b',
        reason:
          "node b is at 0 %, below pooling.scaling.scaleDownThreshold (30 %), and the other nodes hold the pool's load at 50 % (targetUtilization 70 %): draining it (0 workspaces on it)",
      },
    ]);
    // Not within the cooldown of the last scaling action.
    expect(autoscale(input({ nodes, lastScaleMs: 10_000_000 - 60_000 }))).toEqual([]);
    // Cordoned and empty: removed only after idleTimeout.
    const drained = [node('a', 2), node('b', 0, { state: 'cordoned', emptySinceMs: 10_000_000 - 600_000 })];
    expect(autoscale(input({ nodes: drained }))).toEqual([]);
    const idle = [node('a', 2), node('b', 0, { state: 'cordoned', emptySinceMs: 10_000_000 - 900_000 })];
    expect(autoscale(input({ nodes: idle }))).toEqual([
      {
        kind: 'remove',
        node: 'b',
        reason: 'node b is drained and has held no workspace for 15 min (pooling.idleTimeout 15 min)',
      },
    ]);
    // A cordoned node with a workspace is not removed.
    const busy = [node('a', 2), node('b', 1, { state: 'cordoned' })];
    expect(autoscale(input({ nodes: busy })).filter((a) => a.kind === 'remove')).toEqual([]);
  });

  it('never drains below minInstances, nor a node the others cannot do without', () => {
    expect(autoscale(input({ nodes: [node('a', 0)] }))).toEqual([]);
    // a at 75 %, b at 25 %: without b the pool would be at 100 % > 70 %.
    expect(autoscale(input({ nodes: [node('a', 3), node('b', 1)] }))).toEqual([]);
  });
});

describe('the target-tracking baseline', () => {
  it('sizes the pool to what holds workspaces plus what waits, over the target, and removes empty nodes after 15 min', () => {
    expect(targetTracking(input({ nodes: [node('a', 4)], waiting: wait(1) }))).toMatchObject([
      { kind: 'add', count: 1 },
    ]);
    // At 50 %: two nodes per node of load.
    expect(targetTracking(input({ nodes: [node('a', 4)] }), { target: 0.5 })).toMatchObject([
      { kind: 'add', count: 1 },
    ]);
    const empty = node('b', 0, { emptySinceMs: 10_000_000 - 900_000 });
    expect(targetTracking(input({ nodes: [node('a', 1), empty] }))).toMatchObject([
      { kind: 'remove', node: 'b' },
    ]);
    const recent = node('b', 0, { emptySinceMs: 10_000_000 - 60_000 });
    expect(targetTracking(input({ nodes: [node('a', 1), recent] }))).toEqual([]);
  });
});
