import { describe, expect, it } from 'vitest';
import { DAY, email, T0, useStore } from '../../test/support/storeTestKit.js';
import { engines } from '../../test/support/testDb.js';
import { iso } from './schema.js';
import { TaskStore } from './taskStore.js';
import { type UsageRecordInput, UsageStore } from './usageStore.js';
import { UserStore } from './userStore.js';
import { WorkspaceStore } from './workspaceStore.js';

describe.each(engines)('UsageStore on %s', (engine) => {
  const ctx = useStore(engine);

  it('sums per task and per user since a date, and aggregates by user, task and repository', async () => {
    const { db, clock } = ctx;
    const usage = new UsageStore(db, clock);
    const users = new UserStore(db, clock);
    const workspaces = new WorkspaceStore(db, clock);
    const ann = await users.create({ email: email('ann'), role: 'member' });
    const bob = await users.create({ email: email('bob'), role: 'member' });
    const ws = async (id: string, ownerId: string, repository: string) =>
      workspaces.createOrGet({
        id,
        ownerId,
        repository,
        name: id,
        driver: 'local',
        cpu: 1,
        memoryBytes: 1,
        pids: 1,
      });
    await ws('ws-a1', ann.id, 'https://git.test/acme/api');
    await ws('ws-b1', bob.id, 'https://git.test/acme/web');
    await ws('ws-b2', bob.id, 'https://git.test/acme/api');
    const row = (over: Partial<UsageRecordInput>): UsageRecordInput => ({
      userId: ann.id,
      workspaceId: 'ws-a1',
      model: 'claude-sonnet-4-5',
      inputTokens: 10,
      outputTokens: 20,
      cacheCreationTokens: 30,
      cacheReadTokens: 40,
      costUsd: 0.25,
      ...over,
    });

    await usage.insert(row({ taskId: 't1', requestId: 'req_1' }));
    clock.advance(DAY);
    await usage.insert(row({ taskId: 't1', inputTokens: 5_000_000_000 }));
    await usage.insert(row({ taskId: 't2', costUsd: 1.5 }));
    await usage.insert(row({ userId: bob.id, workspaceId: 'ws-b1', costUsd: 2 }));
    await usage.insert(row({ userId: bob.id, workspaceId: 'ws-b2', taskId: 't3', costUsd: 0.5 }));
    // A workspace that has since been deleted.
    await usage.insert(row({ userId: bob.id, workspaceId: 'ws-gone', costUsd: 0.125 }));

    expect(await usage.sumForTask('t1')).toBeCloseTo(0.5, 10);
    expect(await usage.sumForTask('none')).toBe(0);
    expect(await usage.sumForUserSince(ann.id, new Date(T0))).toBeCloseTo(2, 10);
    expect(await usage.sumForUserSince(ann.id, new Date(Date.parse(T0) + DAY))).toBeCloseTo(1.75, 10);

    const from = new Date(T0);
    const to = new Date(Date.parse(T0) + 2 * DAY);
    const byUser = await usage.aggregate({ from, to, groupBy: 'user' });
    expect(byUser).toEqual([
      {
        key: bob.id,
        label: bob.email,
        inputTokens: 30,
        outputTokens: 60,
        cacheCreationTokens: 90,
        cacheReadTokens: 120,
        costUsd: 2.625,
        requests: 3,
      },
      {
        key: ann.id,
        label: ann.email,
        inputTokens: 5_000_000_020,
        outputTokens: 60,
        cacheCreationTokens: 90,
        cacheReadTokens: 120,
        costUsd: 2,
        requests: 3,
      },
    ]);

    const byTask = await usage.aggregate({ from, to, groupBy: 'task' });
    expect(byTask.map((r) => [r.key, r.costUsd, r.requests])).toEqual([
      [null, 2.125, 2],
      ['t2', 1.5, 1],
      ['t1', 0.5, 2],
      ['t3', 0.5, 1],
    ]);
    expect(byTask[0]?.label).toBeUndefined();

    const byRepo = await usage.aggregate({ from, to, groupBy: 'repository' });
    expect(byRepo.map((r) => [r.key, r.costUsd, r.requests])).toEqual([
      ['https://git.test/acme/api', 2.5, 4],
      ['https://git.test/acme/web', 2, 1],
      [null, 0.125, 1],
    ]);

    const annOnly = await usage.aggregate({ from, to, groupBy: 'repository', userId: ann.id });
    expect(annOnly.map((r) => [r.key, r.costUsd])).toEqual([['https://git.test/acme/api', 2]]);

    // The window is [from, to): the first day alone holds only the first row.
    const firstDay = await usage.aggregate({ from, to: new Date(Date.parse(T0) + DAY), groupBy: 'task' });
    expect(firstDay.map((r) => [r.key, r.requests])).toEqual([['t1', 1]]);
    expect(
      await usage.aggregate({ from: to, to: new Date(Date.parse(T0) + 3 * DAY), groupBy: 'user' }),
    ).toEqual([]);
  });
  it("adds each row of a task to the task's totals in the same transaction and returns them", async () => {
    const { db, clock } = ctx;
    const usage = new UsageStore(db, clock);
    const tasks = new TaskStore(db, clock);
    const ann = await new UserStore(db, clock).create({ email: email('ann'), role: 'member' });
    await new WorkspaceStore(db, clock).createOrGet({
      id: 'ws-t',
      ownerId: ann.id,
      repository: 'https://git.test/acme/api',
      name: 'api',
      driver: 'local',
      cpu: 1,
      memoryBytes: 1,
      pids: 1,
    });
    const task = await tasks.create({
      ownerId: ann.id,
      workspaceId: 'ws-t',
      repository: 'https://git.test/acme/api',
      prompt: 'hi',
      permissionMode: 'default',
    });
    const row = (over: Partial<UsageRecordInput>): UsageRecordInput => ({
      userId: ann.id,
      workspaceId: 'ws-t',
      taskId: task.id,
      model: 'claude-sonnet-4-5',
      inputTokens: 100,
      outputTokens: 7,
      cacheCreationTokens: 1000,
      cacheReadTokens: 1000,
      costUsd: 0.125,
      ...over,
    });
    expect(await usage.hasTask(task.id)).toBe(false);
    clock.advance(DAY);
    expect(await usage.insert(row({}))).toEqual({
      taskId: task.id,
      costUsd: 0.125,
      inputTokens: 100,
      outputTokens: 7,
    });
    expect(await usage.insert(row({ inputTokens: 5_000_000_000, outputTokens: 3, costUsd: 0.25 }))).toEqual({
      taskId: task.id,
      costUsd: 0.375,
      inputTokens: 5_000_000_100,
      outputTokens: 10,
    });
    expect(await usage.insert(row({ taskId: undefined }))).toBeUndefined();
    expect(await usage.insert(row({ taskId: 'deleted-task' }))).toBeUndefined();
    const stored = await tasks.byId(task.id);
    expect(Number(stored?.cost_usd)).toBeCloseTo(await usage.sumForTask(task.id), 10);
    expect(Number(stored?.input_tokens)).toBe(5_000_000_100);
    expect(iso(stored?.updated_at ?? null)).toBe(task.updated_at);
    expect(await usage.hasTask(task.id)).toBe(true);
  });
});
