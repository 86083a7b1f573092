import { describe, expect, it } from 'vitest';
import { DAY, useStore } from '../../test/support/storeTestKit.js';
import { engines } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { UsageStore } from '../store/usageStore.js';
import { BudgetGuard } from './budgetGuard.js';

describe.each(engines)('BudgetGuard on %s', (engine) => {
  const ctx = useStore(engine);
  const spend = (usage: UsageStore, userId: string, costUsd: number, taskId?: string) =>
    usage.insert({
      userId,
      workspaceId: 'ws',
      taskId,
      model: 'claude-sonnet-4-5',
      inputTokens: 1,
      outputTokens: 1,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
      costUsd,
    });

  it('refuses a task once its spend reaches maxBudgetUsd, and other tasks go on', async () => {
    const usage = new UsageStore(ctx.db, ctx.clock);
    const guard = new BudgetGuard({ usage, clock: ctx.clock });
    const attr = { userId: 'u-task', workspaceId: 'ws', taskId: 'task-a', taskBudgetUsd: 1 };
    expect(await guard.check(attr)).toBeUndefined();
    await spend(usage, 'u-task', 0.75, 'task-a');
    expect(await guard.check(attr)).toBeUndefined();
    await spend(usage, 'u-task', 0.25, 'task-a');
    expect(await guard.check(attr)).toEqual({
      scope: 'task',
      limitUsd: 1,
      usedUsd: 1,
      message:
        "Remote Claude: this task's budget of $1.00 is spent ($1.00 used). Raise maxBudgetUsd or start a new task.",
    });
    expect(await guard.check({ ...attr, taskId: 'task-b' })).toBeUndefined();
    // A task without its own limit is not limited by the task rule.
    expect(await guard.check({ userId: 'u-task', workspaceId: 'ws', taskId: 'task-a' })).toBeUndefined();
  });

  it('refuses a user over the monthly budget until the next calendar month', async () => {
    const clock = new ManualClock(new Date('2026-03-31T23:00:00.000Z'));
    const usage = new UsageStore(ctx.db, clock);
    const guard = new BudgetGuard({ usage, clock, monthlyUsdPerUser: 20 });
    const attr = { userId: 'u-month', workspaceId: 'ws' };
    await spend(usage, 'u-month', 20.13);
    expect(await guard.check(attr)).toMatchObject({
      scope: 'user',
      limitUsd: 20,
      message:
        'Remote Claude: your monthly model budget of $20.00 is spent ($20.13 used since 2026-03-01). It renews on 2026-04-01; an admin can raise budgets.monthlyUsdPerUser.',
    });
    expect(await guard.check({ userId: 'someone-else', workspaceId: 'ws' })).toBeUndefined();
    clock.advance(DAY);
    expect(await guard.check(attr)).toBeUndefined();
  });

  it('a monthly budget of zero refuses everything, and no budget refuses nothing', async () => {
    const usage = new UsageStore(ctx.db, ctx.clock);
    const attr = { userId: 'u-zero', workspaceId: 'ws' };
    expect(
      await new BudgetGuard({ usage, clock: ctx.clock, monthlyUsdPerUser: 0 }).check(attr),
    ).toMatchObject({
      scope: 'user',
      usedUsd: 0,
    });
    await spend(usage, 'u-zero', 1000);
    expect(await new BudgetGuard({ usage, clock: ctx.clock }).check(attr)).toBeUndefined();
  });
});
