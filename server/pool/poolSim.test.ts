import { describe, expect, it, vi } from 'vitest';
import * as core from '../scheduler/schedulerCore.js';
import { simulatePool, type TraceTask } from './poolSim.js';
import { generateTrace, parseSimConfig, parseTrace, SimInputError, traceToJsonl } from './simInput.js';
import { htmlReport, quantile, summaryTable } from './simReport.js';

// The simulator must decide with the scheduler's own core, not a copy of it: the core's export is
// wrapped so that the test sees every call (and what it decided).
vi.mock('../scheduler/schedulerCore.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../scheduler/schedulerCore.js')>();
  return { ...real, schedule: vi.fn(real.schedule) };
});

const settings = parseSimConfig(`
pooling: {minInstances: 0, maxInstances: 20, idleTimeout: 10m, scaling: {cooldownPeriod: 2m}}
instance: {cpu: 4, memory: 16G, onDemandPerHour: 0.2, spotPerHour: 0.07, bootTime: {min: 60, max: 120}}
quotas: {maxConcurrentTasks: 2}
`);
const trace = generateTrace({ users: 20, days: 2, seed: 7, tasksPerDay: 5, minMinutes: 5, maxMinutes: 60 });

function report() {
  const rows = (['autoscaler', 'target-tracking', 'per-task'] as const).map((policy) => ({
    label: policy,
    result: simulatePool({ tasks: trace, policy, ...settings }),
  }));
  return htmlReport({ title: 'test', rows, notes: [] });
}

describe('the pool simulator', () => {
  it('gives the same report, byte for byte, for the same trace and config', () => {
    const a = report();
    expect(report()).toBe(a);
    expect(a).toContain('<svg');
    // And a generated trace is the same for the same seed, and round-trips through JSONL.
    const again = generateTrace({
      users: 20,
      days: 2,
      seed: 7,
      tasksPerDay: 5,
      minMinutes: 5,
      maxMinutes: 60,
    });
    expect(again).toEqual(trace);
    expect(parseTrace(traceToJsonl(trace))).toEqual(trace);
  });

  it('decides with the scheduler core itself: every task starts through it, with its quotas', () => {
    const schedule = vi.mocked(core.schedule);
    schedule.mockClear();
    const r = simulatePool({ tasks: trace, policy: 'autoscaler', ...settings });
    expect(schedule).toHaveBeenCalledTimes(r.passes);
    const started = schedule.mock.results.flatMap((x) =>
      (x.value as core.QueueDecision[]).filter((d) => d.action === 'start'),
    );
    expect(started).toHaveLength(trace.length);
    expect(new Set(started.map((d) => d.taskId)).size).toBe(trace.length);
    expect(r.waits).toHaveLength(trace.length);
    expect(r.neverStarted).toBe(0);
    // Starts of workspaces went through the core's placement, on the simulated nodes.
    const placed = schedule.mock.results.flatMap((x) =>
      (x.value as core.QueueDecision[]).filter((d) => d.action === 'start_workspace'),
    );
    expect(placed.length).toBeGreaterThan(0);
    expect(placed.every((d) => /^n\d+$/.test(d.node ?? ''))).toBe(true);
  });

  it('pools for less than one instance per task, and grows and shrinks with the load', () => {
    const pool = simulatePool({ tasks: trace, policy: 'autoscaler', ...settings });
    const perTask = simulatePool({ tasks: trace, policy: 'per-task', ...settings });
    expect(pool.costOnDemand).toBeLessThan(perTask.costOnDemand * 0.6);
    expect(pool.costSpot).toBeCloseTo((pool.costOnDemand * 0.07) / 0.2, 6);
    expect(pool.actions.some((a) => a.kind === 'add')).toBe(true);
    expect(pool.actions.some((a) => a.kind === 'remove')).toBe(true);
    expect(pool.maxNodes).toBeLessThanOrEqual(20);
    // Every per-task wait is a boot plus the workspace start.
    expect(Math.min(...perTask.waits)).toBeGreaterThanOrEqual(65);
    expect(quantile(pool.waits, 0.5)).toBeLessThan(quantile(perTask.waits, 0.5));
  });

  it('with scaling off, keeps the pool at minInstances: tasks wait for room instead', () => {
    const fixed = parseSimConfig(
      'pooling: {minInstances: 2, scaling: {enabled: false}}\ninstance: {cpu: 4, memory: 16G}',
    );
    const r = simulatePool({ tasks: trace, policy: 'autoscaler', ...fixed });
    expect(r.actions.map((a) => a.kind)).toEqual(['add']);
    expect(r.maxNodes).toBe(2);
    expect(quantile(r.waits, 0.95)).toBeGreaterThan(
      quantile(simulatePool({ tasks: trace, policy: 'autoscaler', ...settings }).waits, 0.95),
    );
  });

  it('counts tasks held by a quota, and never starts a task bigger than a node', () => {
    const burst: TraceTask[] = Array.from({ length: 6 }, (_, i) => ({
      id: `b${i}`,
      atMs: 1000,
      user: 'alice',
      repository: `r${i}`,
      cpu: 1,
      memoryBytes: 2 ** 30,
      durationMs: 600_000,
      idleAfterMs: 0,
    }));
    const huge = { ...(burst[0] as TraceTask), id: 'huge', repository: 'big', cpu: 64 };
    const r = simulatePool({ tasks: [...burst, huge], policy: 'autoscaler', ...settings });
    // Two at a time (maxConcurrentTasks 2): four waited on the quota.
    expect(r.quotaWaits).toBe(4);
    expect(r.neverStarted).toBe(1);
    expect(summaryTable([{ label: 'run', result: r }])).toMatch(/quota waits\s+never started/);
  });
});

describe('the simulator’s input', () => {
  it('names the line and the field of a bad trace line', () => {
    const bad = (text: string) => {
      try {
        parseTrace(text);
      } catch (err) {
        expect(err).toBeInstanceOf(SimInputError);
        return (err as Error).message;
      }
      throw new Error('parsed');
    };
    const ok = '{"at": 0, "user": "u", "repository": "r", "duration": 60}';
    expect(bad(`${ok}\n{"at": 5, "user": "u", "repository": "r", "duration": -1}`)).toBe(
      'trace line 2: duration: must be a positive number of seconds',
    );
    expect(bad(`${ok}\n\n{"at": 5, "user": "u"`)).toMatch(/^trace line 3: not JSON/);
    expect(bad(`{"at": 0, "user": "u", "repository": "r", "duration": 6, "colour": 1}`)).toMatch(
      /^trace line 1: .*colour/,
    );
    expect(bad(`{"at": 0, "user": "u", "repository": "r", "duration": 6, "memory": "lots"}`)).toBe(
      'trace line 1: memory: must be a number of bytes or a size like "512M" or "4G"',
    );
    expect(bad('')).toBe('the trace has no tasks');
  });

  it('refuses a config with min above max, thresholds out of order, or an unknown key, naming it', () => {
    const bad = (text: string) => {
      try {
        parseSimConfig(text);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('parsed');
    };
    expect(bad('pooling: {minInstances: 5, maxInstances: 2}')).toBe(
      'config: pooling.minInstances: minInstances must not exceed maxInstances',
    );
    expect(bad('pooling: {scaling: {scaleUpThreshold: 0.3, scaleDownThreshold: 0.5}}')).toMatch(
      /^config: pooling.scaling.scaleDownThreshold: scaleDownThreshold must be below scaleUpThreshold/,
    );
    expect(bad('pooling: {provider: magic}')).toMatch(/^config: pooling: .*provider/);
    expect(bad('pooling: {enabled: false}')).toBe(
      'config: pooling.enabled: false leaves no pool to simulate; leave it out or true',
    );
    expect(bad('instance: {bootTime: {min: 5m, max: 1m}}')).toBe(
      'config: instance.bootTime.min: min must not exceed max',
    );
  });
});
