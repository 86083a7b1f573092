// A user's effective quotas: the user's own override where an admin set one, else the most
// generous override among the user's teams, else the configured default (`quotas.*`,
// `sessions.maxPerUser`). The same rule gives the fair-share weight (default 1) and whether the
// user may submit `high` priority tasks (admins and owners always may).
import type { OrgRole } from '../../sdk/wire.js';
import { atLeast } from '../auth/policy.js';
import type { Config } from '../config/configSchema.js';
import type { QuotaOverrideRow } from '../store/schedulerStore.js';
import type { Limits } from './schedulerCore.js';

export interface EffectiveQuota {
  limits: Limits;
  weight: number;
  allowHighPriority: boolean;
}

type Field = 'max_concurrent_tasks' | 'max_running_workspaces' | 'max_monthly_hours' | 'fair_share_weight';

export class QuotaBook {
  private readonly users = new Map<string, QuotaOverrideRow>();
  private readonly teams = new Map<string, QuotaOverrideRow>();

  constructor(
    private readonly config: Config,
    overrides: readonly QuotaOverrideRow[],
  ) {
    for (const o of overrides) (o.subject_kind === 'user' ? this.users : this.teams).set(o.subject_id, o);
  }

  private pick(field: Field, userId: string, teamIds: readonly string[], fallback: number): number {
    const own = this.users.get(userId)?.[field];
    if (own !== null && own !== undefined) return Number(own);
    let best: number | undefined;
    for (const t of teamIds) {
      const v = this.teams.get(t)?.[field];
      if (v !== null && v !== undefined && (best === undefined || Number(v) > best)) best = Number(v);
    }
    return best ?? fallback;
  }

  of(user: { id: string; role: string }, teamIds: readonly string[]): EffectiveQuota {
    const c = this.config;
    const ownHigh = this.users.get(user.id)?.allow_high_priority;
    const teamHigh = teamIds.some((t) => this.teams.get(t)?.allow_high_priority === 1);
    return {
      limits: {
        concurrentTasks: this.pick('max_concurrent_tasks', user.id, teamIds, c.quotas.maxConcurrentTasks),
        runningWorkspaces: this.pick('max_running_workspaces', user.id, teamIds, c.sessions.maxPerUser),
        monthlySeconds: this.pick('max_monthly_hours', user.id, teamIds, c.quotas.maxMonthlyHours) * 3600,
      },
      weight: this.pick('fair_share_weight', user.id, teamIds, 1),
      allowHighPriority:
        atLeast(user.role as OrgRole, 'admin') ||
        (ownHigh !== null && ownHigh !== undefined ? ownHigh === 1 : teamHigh),
    };
  }
}
