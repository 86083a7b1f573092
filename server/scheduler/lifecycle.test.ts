// The lifecycle decisions on their own: no store, no clock, just (workspaces, tasks, activity,
// limits, now) → decisions.
import { describe, expect, it } from 'vitest';
import {
  decideLifecycle,
  formatDuration,
  idleWarningLeadMs,
  type LifecycleInput,
  type LifecycleTask,
  type LifecycleWorkspace,
} from './lifecycle.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const limits = {
  idleTimeoutMs: 30 * MIN,
  maxDurationMs: 8 * H,
  taskTimeoutMs: H,
  autoTerminate: false,
  attachedFreshMs: 90 * S,
};
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

function ws(over: Partial<LifecycleWorkspace> = {}): LifecycleWorkspace {
  return { id: 'w1', startedAt: T0, lastActivityAt: null, idleWarnedAt: null, idleStopAt: null, ...over };
}
function task(over: Partial<LifecycleTask> = {}): LifecycleTask {
  return { id: 't1', workspaceId: 'w1', status: 'running', turnStartedAt: T0, ...over };
}
function decide(over: Partial<LifecycleInput> & { at: number }) {
  const { at, ...rest } = over;
  return decideLifecycle({
    now: at,
    limits,
    workspaces: [ws()],
    openTasks: [],
    lastTaskChange: new Map(),
    lastTaskEnd: new Map(),
    ...rest,
  });
}

describe('idle stop', () => {
  const lead = idleWarningLeadMs(limits.idleTimeoutMs);

  it('warns five minutes before, then stops at the timeout with the reason', () => {
    expect(lead).toBe(5 * MIN);
    expect(decide({ at: T0 + 25 * MIN - 1 })).toEqual([]);
    expect(decide({ at: T0 + 25 * MIN })).toEqual([
      { kind: 'warnIdle', workspaceId: 'w1', stopAt: T0 + 30 * MIN },
    ]);
    const warned = ws({ idleWarnedAt: T0 + 25 * MIN, idleStopAt: T0 + 30 * MIN });
    expect(decide({ at: T0 + 30 * MIN - 1, workspaces: [warned] })).toEqual([]);
    expect(decide({ at: T0 + 30 * MIN, workspaces: [warned] })).toEqual([
      {
        kind: 'stop',
        workspaceId: 'w1',
        cause: 'idle',
        reason: 'Stopped after 30 min without activity (sessions.idleTimeout)',
      },
    ]);
  });

  it('never stops without a warning first; a late warning still gives the whole notice', () => {
    expect(decide({ at: T0 + 3 * H })).toEqual([
      { kind: 'warnIdle', workspaceId: 'w1', stopAt: T0 + 3 * H + lead },
    ]);
  });

  it('warns at a fifth of a short timeout', () => {
    const short = { ...limits, idleTimeoutMs: 60 * S };
    expect(idleWarningLeadMs(short.idleTimeoutMs)).toBe(12 * S);
    expect(decide({ at: T0 + 48 * S, limits: short })).toEqual([
      { kind: 'warnIdle', workspaceId: 'w1', stopAt: T0 + 60 * S },
    ]);
  });

  it('counts from the last activity: a terminal seen, a task that changed', () => {
    const seen = ws({ lastActivityAt: T0 + 10 * MIN });
    expect(decide({ at: T0 + 34 * MIN, workspaces: [seen] })).toEqual([]);
    expect(decide({ at: T0 + 35 * MIN, workspaces: [seen] })).toMatchObject([{ kind: 'warnIdle' }]);
    const changed = new Map([['w1', T0 + 20 * MIN]]);
    expect(decide({ at: T0 + 44 * MIN, lastTaskChange: changed })).toEqual([]);
    expect(decide({ at: T0 + 45 * MIN, lastTaskChange: changed })).toMatchObject([{ kind: 'warnIdle' }]);
  });

  it('withdraws the warning on activity after it: a terminal, a task', () => {
    const warned = ws({ idleWarnedAt: T0 + 25 * MIN, idleStopAt: T0 + 30 * MIN });
    const clear = [{ kind: 'clearWarning', workspaceId: 'w1' }];
    // A terminal attached now.
    expect(decide({ at: T0 + 31 * MIN, workspaces: [{ ...warned, lastActivityAt: T0 + 31 * MIN }] })).toEqual(
      clear,
    );
    // A terminal that was attached for a moment after the warning and left.
    expect(decide({ at: T0 + 40 * MIN, workspaces: [{ ...warned, lastActivityAt: T0 + 26 * MIN }] })).toEqual(
      clear,
    );
    // A task queued or running.
    expect(
      decide({ at: T0 + 31 * MIN, workspaces: [warned], openTasks: [task({ status: 'queued' })] }),
    ).toEqual(clear);
    // A task that ran and ended after the warning.
    expect(
      decide({ at: T0 + 31 * MIN, workspaces: [warned], lastTaskChange: new Map([['w1', T0 + 27 * MIN]]) }),
    ).toEqual(clear);
  });

  it('never warns or stops while a task is queued or in a turn, or a terminal is attached', () => {
    for (const status of ['queued', 'starting', 'running', 'waiting_for_approval'] as const) {
      expect(
        decide({ at: T0 + 50 * MIN, openTasks: [task({ status, turnStartedAt: T0 + 20 * MIN })] }),
      ).toEqual([]);
    }
    expect(decide({ at: T0 + 50 * MIN, workspaces: [ws({ lastActivityAt: T0 + 49 * MIN })] })).toEqual([]);
  });

  it('a task waiting for input is not activity: its turn is over', () => {
    expect(
      decide({
        at: T0 + 25 * MIN,
        openTasks: [task({ status: 'waiting_for_input' })],
      }),
    ).toMatchObject([{ kind: 'warnIdle' }]);
  });

  it('ignores and tidies away a warning of an earlier run', () => {
    const old = ws({ startedAt: T0, idleWarnedAt: T0 - H, idleStopAt: T0 - H + 5 * MIN });
    expect(decide({ at: T0 + MIN, workspaces: [old] })).toEqual([
      { kind: 'clearWarning', workspaceId: 'w1' },
    ]);
    expect(decide({ at: T0 + 25 * MIN, workspaces: [old] })).toMatchObject([{ kind: 'warnIdle' }]);
  });
});

describe('max duration', () => {
  it('stops a busy workspace after its maximum run time and cancels its queued and running tasks', () => {
    const openTasks = [
      task({ id: 'a', status: 'running', turnStartedAt: T0 + 8 * H - MIN }),
      task({ id: 'b', status: 'queued', turnStartedAt: null }),
      task({ id: 'c', status: 'waiting_for_input' }),
    ];
    const lastActivityAt = T0 + 8 * H - S;
    expect(decide({ at: T0 + 8 * H - 1, openTasks, workspaces: [ws({ lastActivityAt })] })).toEqual([]);
    const why = 'Cancelled: the workspace was stopped after running 8 h (sessions.maxDuration)';
    expect(decide({ at: T0 + 8 * H, openTasks, workspaces: [ws({ lastActivityAt })] })).toEqual([
      { kind: 'cancelTask', taskId: 'a', workspaceId: 'w1', reason: why },
      { kind: 'cancelTask', taskId: 'b', workspaceId: 'w1', reason: why },
      {
        kind: 'stop',
        workspaceId: 'w1',
        cause: 'maxDuration',
        reason: 'Stopped after running 8 h (sessions.maxDuration)',
      },
    ]);
  });
});

describe('task timeout', () => {
  it('cancels a turn that ran longer than the timeout, from the start of the turn', () => {
    const t = task({ turnStartedAt: T0 + 2 * H });
    expect(decide({ at: T0 + 3 * H - 1, openTasks: [t] })).toEqual([]);
    expect(decide({ at: T0 + 3 * H, openTasks: [t] })).toEqual([
      {
        kind: 'cancelTask',
        taskId: 't1',
        workspaceId: 'w1',
        reason: 'Cancelled: the turn ran longer than 1 h (pooling.taskTimeout)',
      },
    ]);
  });

  it('leaves queued tasks and tasks waiting for input alone', () => {
    const openTasks = [
      task({ id: 'q', status: 'queued', turnStartedAt: T0 }),
      task({ id: 'w', status: 'waiting_for_input', turnStartedAt: T0 }),
    ];
    expect(decide({ at: T0 + 2 * H, openTasks }).filter((d) => d.kind === 'cancelTask')).toEqual([]);
  });
});

describe('auto-terminate', () => {
  const on = { ...limits, autoTerminate: true };
  const ended = new Map([['w1', T0 + 10 * MIN]]);
  const stop = {
    kind: 'stop',
    workspaceId: 'w1',
    cause: 'autoTerminate',
    reason: 'Stopped when its last task ended (userDefaults.autoTerminate)',
  };

  it('stops the workspace once its last task of this run has ended', () => {
    expect(decide({ at: T0 + 10 * MIN, limits: on, lastTaskEnd: ended })).toEqual([stop]);
  });

  it('waits while another task is queued, in a turn or waiting for input, or a terminal is attached', () => {
    for (const status of ['queued', 'running', 'waiting_for_input'] as const) {
      expect(
        decide({ at: T0 + 10 * MIN, limits: on, lastTaskEnd: ended, openTasks: [task({ status })] }),
      ).toEqual([]);
    }
    const attached = ws({ lastActivityAt: T0 + 10 * MIN - 30 * S });
    expect(decide({ at: T0 + 10 * MIN, limits: on, lastTaskEnd: ended, workspaces: [attached] })).toEqual([]);
    // Once the terminal's replica has stopped touching it, it is detached.
    expect(decide({ at: T0 + 12 * MIN, limits: on, lastTaskEnd: ended, workspaces: [attached] })).toEqual([
      stop,
    ]);
  });

  it('does nothing when off, or for a task that ended before this run started', () => {
    expect(decide({ at: T0 + 10 * MIN, lastTaskEnd: ended })).toEqual([]);
    expect(decide({ at: T0 + 10 * MIN, limits: on, lastTaskEnd: new Map([['w1', T0 - MIN]]) })).toEqual([]);
  });
});

it('formats durations for the reasons', () => {
  expect(formatDuration(90 * S)).toBe('90 s');
  expect(formatDuration(45 * S)).toBe('45 s');
  expect(formatDuration(60 * S)).toBe('1 min');
  expect(formatDuration(30 * MIN)).toBe('30 min');
  expect(formatDuration(H)).toBe('1 h');
  expect(formatDuration(8 * H)).toBe('8 h');
  expect(formatDuration(90 * MIN)).toBe('1 h 30 min');
});
