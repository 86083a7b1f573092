import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DAY, T0, useStore } from '../../test/support/storeTestKit.js';
import { engines } from '../../test/support/testDb.js';
import { AuditStore } from '../store/auditStore.js';
import { AuditRetention, type Schedule } from './auditRetention.js';

const log = pino({ level: 'silent' });

/** A schedule the test drives: `tick()` runs the prune a timer would have started. */
function manualSchedule() {
  const ticks: { fn: () => Promise<number>; ms: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const entry = { fn, ms, cancelled: false };
    ticks.push(entry);
    return () => {
      entry.cancelled = true;
    };
  };
  return { schedule, ticks };
}

describe.each(engines)('audit log retention on %s', (engine) => {
  const ctx = useStore(engine);

  /** Entries written `ages` days before T0 + 400 days (the clock is left at T0 + 400 days). */
  let run = 0;
  let prefix = '';
  async function seed(store: AuditStore, ages: number[]): Promise<void> {
    // Each test reads back only its own entries (the store is shared by the describe block).
    prefix = `run${++run}.`;
    const end = new Date(T0).getTime() + 400 * DAY;
    for (const age of [...ages].sort((a, b) => b - a)) {
      ctx.clock.advance(end - age * DAY - ctx.clock.now().getTime());
      await store.append({ actorId: null, actorEmail: null, action: `${prefix}${age}`, result: 'success' });
    }
    ctx.clock.advance(end - ctx.clock.now().getTime());
  }
  const actions = async (store: AuditStore) =>
    (await store.query({ action: prefix, limit: 100 })).rows.map((r) => r.action.slice(prefix.length));

  it('deletes what is older than retentionDays at start and on each tick, by the injected clock', async () => {
    const store = new AuditStore(ctx.db, ctx.clock);
    await seed(store, [500, 401, 399, 10, 0]);
    const { schedule, ticks } = manualSchedule();
    const retention = new AuditRetention({
      store,
      clock: ctx.clock,
      retentionDays: 400,
      pruneIntervalSeconds: 3600,
      log,
      schedule,
    });
    expect(await retention.start()).toBe(2);
    expect(await actions(store)).toEqual(['0', '10', '399']);
    expect(ticks.map((t) => t.ms)).toEqual([3_600_000]);

    // Nothing more is old enough until the clock moves: a tick then deletes the next one.
    expect(await ticks[0]?.fn()).toBe(0);
    ctx.clock.advance(2 * DAY);
    expect(await ticks[0]?.fn()).toBe(1);
    expect(await actions(store)).toEqual(['0', '10']);

    await retention.stop();
    expect(ticks[0]?.cancelled).toBe(true);
  });

  it('two replicas pruning at once delete each entry once and end with the same log', async () => {
    const store = new AuditStore(ctx.db, ctx.clock);
    await seed(
      store,
      Array.from({ length: 30 }, (_, i) => 395 + i),
    );
    const replica = () =>
      new AuditRetention({
        store: new AuditStore(ctx.db, ctx.clock),
        clock: ctx.clock,
        retentionDays: 400,
        pruneIntervalSeconds: 3600,
        log,
        schedule: manualSchedule().schedule,
      });
    const [a, b] = await Promise.all([replica().start(), replica().start()]);
    // Ages 401..424 are past 400 days (age 400 is exactly at the cutoff and stays).
    expect(a + b).toBe(24);
    expect(await actions(store)).toEqual(['395', '396', '397', '398', '399', '400']);
  });

  it('deletes a large backlog in batches', async () => {
    const store = new AuditStore(ctx.db, ctx.clock);
    await seed(store, [900, 901, 902, 903, 904]);
    expect(await store.pruneBefore(new Date(ctx.clock.now().getTime() - 800 * DAY), 2)).toBe(5);
    expect(await store.pruneBefore(new Date(ctx.clock.now().getTime() - 800 * DAY), 2)).toBe(0);
  });
});
