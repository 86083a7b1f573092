// Budgets the gateway checks before each model request: the task's own limit (maxBudgetUsd) and
// the user's monthly limit (budgets.monthlyUsdPerUser). A request is refused once the spend has
// reached the limit. The check reads the recorded usage, so requests already in flight when the
// limit is reached still finish and may overshoot it by their own cost.
import type { Clock } from '../clock.js';
import type { UsageStore } from '../store/usageStore.js';
import type { BudgetRefusal, GatewayAttribution } from './modelGateway.js';

export interface BudgetGuardOptions {
  usage: Pick<UsageStore, 'sumForTask' | 'sumForUserSince'>;
  clock: Clock;
  /** `budgets.monthlyUsdPerUser`; undefined is no limit. */
  monthlyUsdPerUser?: number | undefined;
}

export class BudgetGuard {
  constructor(private readonly opts: BudgetGuardOptions) {}

  /** The first budget that is spent, task before month; undefined when the request may go. */
  async check(attr: GatewayAttribution): Promise<BudgetRefusal | undefined> {
    if (attr.taskId !== undefined && attr.taskBudgetUsd !== undefined) {
      const used = await this.opts.usage.sumForTask(attr.taskId);
      if (used >= attr.taskBudgetUsd) {
        return {
          scope: 'task',
          limitUsd: attr.taskBudgetUsd,
          usedUsd: used,
          message: `Remote Claude: this task's budget of ${usd(attr.taskBudgetUsd)} is spent (${usd(used)} used). Raise maxBudgetUsd or start a new task.`,
        };
      }
    }
    const monthly = this.opts.monthlyUsdPerUser;
    if (monthly !== undefined) {
      const now = this.opts.clock.now();
      const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      const used = await this.opts.usage.sumForUserSince(attr.userId, since);
      if (used >= monthly) {
        return {
          scope: 'user',
          limitUsd: monthly,
          usedUsd: used,
          message: `Remote Claude: your monthly model budget of ${usd(monthly)} is spent (${usd(used)} used since ${day(since)}). It renews on ${day(next)}; an admin can raise budgets.monthlyUsdPerUser.`,
        };
      }
    }
    return undefined;
  }
}

function usd(n: number): string {
  return `$${n.toFixed(2)}`;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
