// Refusal floods: the first rows of a window are written, the rest counted and reported with the
// first row after the window; sources are counted apart; and through the real internal route, a
// forged-request flood writes a bounded number of audit rows while every request is still refused.
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/support/testApp.js';
import { ManualClock } from '../clock.js';
import { REFUSAL_AUDIT_LIMIT, REFUSAL_AUDIT_WINDOW_MS, RefusalLimiter } from './refusalLimiter.js';

describe('RefusalLimiter', () => {
  it('writes the first rows of a window, counts the rest, and reports the count after it', () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    const limiter = new RefusalLimiter(clock);
    const writes = Array.from({ length: REFUSAL_AUDIT_LIMIT + 15 }, () =>
      limiter.admit('agent.connect', '10.0.0.9'),
    );
    expect(writes.filter((w) => w.write)).toHaveLength(REFUSAL_AUDIT_LIMIT);
    // Another source, or another kind from the same source, has its own budget.
    expect(limiter.admit('agent.connect', '10.0.0.8')).toEqual({ write: true, suppressed: 0 });
    expect(limiter.admit('cluster.request', '10.0.0.9')).toEqual({ write: true, suppressed: 0 });
    clock.advance(REFUSAL_AUDIT_WINDOW_MS);
    expect(limiter.admit('agent.connect', '10.0.0.9')).toEqual({ write: true, suppressed: 15 });
    expect(limiter.admit('agent.connect', '10.0.0.9')).toEqual({ write: true, suppressed: 0 });
  });

  it('a forged-request flood is refused every time and audited a bounded number of times', async () => {
    const t = await createTestApp('sqlite');
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < REFUSAL_AUDIT_LIMIT * 3; i++) {
        const res = await t.app.inject({ method: 'POST', url: '/internal/v1/agents/x/request', payload: {} });
        statuses.add(res.statusCode);
      }
      expect([...statuses]).toEqual([401]);
      const { rows } = await t.services.auditStore.query({ action: 'cluster.request', limit: 500 } as never);
      expect(rows).toHaveLength(REFUSAL_AUDIT_LIMIT);
    } finally {
      await t.close();
    }
  });
});
