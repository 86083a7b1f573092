import { describe, expect, it } from 'vitest';
import type { Quota } from '../../sdk/schedulerWire.js';
import { estimateText, hoursText, queuePlaceText, quotaLine } from './queueText.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const at = (ms: number) => new Date(NOW + ms).toISOString();

describe('queue and quota text', () => {
  it('says a queued task’s place and reason', () => {
    expect(
      queuePlaceText({
        position: 3,
        reason: 'alice has 3 of 3 concurrent tasks (quotas.maxConcurrentTasks)',
      }),
    ).toBe('#3 in queue — alice has 3 of 3 concurrent tasks (quotas.maxConcurrentTasks)');
  });

  it('words an estimate by how far off it is, and says nothing without one', () => {
    expect(estimateText(null, NOW)).toBeNull();
    expect(estimateText('not a date', NOW)).toBeNull();
    expect(estimateText(at(-5_000), NOW)).toBe('starts now');
    expect(estimateText(at(40_000), NOW)).toBe('starts in under a minute');
    expect(estimateText(at(4 * 60_000 + 10_000), NOW)).toBe('starts in about 4 min');
    expect(estimateText(at(3 * 3_600_000), NOW)).toBe('starts in about 3 h');
    expect(estimateText(at(3 * 86_400_000), NOW)).toMatch(/^starts around /);
  });

  it('writes hours as people do', () => {
    expect(hoursText(100)).toBe('100');
    expect(hoursText(12.5)).toBe('12.5');
    expect(hoursText(0.25)).toBe('0.3');
  });

  it('puts the three quotas on one line with what is left and when it resets', () => {
    const q: Quota = {
      userId: 'u1',
      limits: { maxConcurrentTasks: 3, maxRunningWorkspaces: 5, maxMonthlyHours: 100 },
      use: { concurrentTasks: 2, runningWorkspaces: 1, monthlyHours: 12.5 },
      monthlyHoursLeft: 87.5,
      resetsAt: '2027-01-01T00:00:00.000Z',
      fairShareWeight: 1,
      allowHighPriority: false,
    };
    expect(quotaLine(q, 'en-GB')).toBe(
      '2 of 3 concurrent tasks · 1 of 5 running workspaces · 12.5 of 100 workspace-hours this month (87.5 left, resets 1 Jan)',
    );
  });
});
