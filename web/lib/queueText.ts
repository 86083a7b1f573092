// How the queue and quotas read: a queued task's place and reason, its start estimate, how a
// priority looks, and the quota line ("2 of 3 concurrent tasks · …").
import type { Quota } from '../../sdk/schedulerWire.js';
import type { Priority, TaskQueuePlace } from '../../sdk/taskWire.js';

/** "#3 in queue — alice has 3 of 3 concurrent tasks (quotas.maxConcurrentTasks)". */
export function queuePlaceText(place: Pick<TaskQueuePlace, 'position' | 'reason'>): string {
  return `#${place.position} in queue — ${place.reason}`;
}

/** "starts now", "starts in about 4 min", or the time for waits past a day; null without one. */
export function estimateText(estimatedStartAt: string | null, now = Date.now()): string | null {
  if (!estimatedStartAt) return null;
  const ms = Date.parse(estimatedStartAt) - now;
  if (!Number.isFinite(ms)) return null;
  if (ms < 30_000) return 'starts now';
  if (ms < 60_000) return 'starts in under a minute';
  const min = Math.round(ms / 60_000);
  if (min < 60) return `starts in about ${min} min`;
  if (ms < 86_400_000) return `starts in about ${Math.round(ms / 3_600_000)} h`;
  return `starts around ${new Date(estimatedStartAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
}

/** The badge of a priority that is not normal; null for normal, which needs none. */
export const priorityLook: Record<Priority, { label: string; color: string } | null> = {
  high: { label: 'High priority', color: 'red' },
  normal: null,
  low: { label: 'Low priority', color: 'gray' },
};

/** Hours as people write them: 100, 12.5, 0.3. */
export function hoursText(h: number): string {
  return Number.isInteger(h) ? String(h) : h.toFixed(1);
}

/** "1 Jan": when the monthly allowance starts again, in UTC (the server's month). */
export function resetDate(iso: string, locale?: string): string {
  return new Date(iso).toLocaleDateString(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/** The three quotas in words, one part each, as the quota line shows them. */
export function quotaParts(q: Quota, locale?: string): string[] {
  return [
    `${q.use.concurrentTasks} of ${q.limits.maxConcurrentTasks} concurrent tasks`,
    `${q.use.runningWorkspaces} of ${q.limits.maxRunningWorkspaces} running workspaces`,
    `${hoursText(q.use.monthlyHours)} of ${hoursText(q.limits.maxMonthlyHours)} workspace-hours this month (${hoursText(q.monthlyHoursLeft)} left, resets ${resetDate(q.resetsAt, locale)})`,
  ];
}

export const quotaLine = (q: Quota, locale?: string): string => quotaParts(q, locale).join(' · ');
