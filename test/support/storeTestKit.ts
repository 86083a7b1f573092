// Shared setup for the store tests (server/store/*.test.ts): a store per describe block on a
// manual clock, and small helpers.
import { afterAll, beforeAll } from 'vitest';
import { ManualClock } from '../../server/clock.js';
import type { Db } from '../../server/store/db.js';
import { type Engine, openTestDb, type TestDb } from './testDb.js';

export const T0 = '2026-01-01T00:00:00.000Z';
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The rejection of `promise`; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the write to fail, but it succeeded');
}

/** Open a store for one describe block, with a manual clock, and close it afterwards. */
export function useStore(engine: Engine) {
  const ctx = {} as { tdb: TestDb; db: Db; clock: ManualClock };
  beforeAll(async () => {
    ctx.tdb = await openTestDb(engine);
    ctx.db = ctx.tdb.db;
    ctx.clock = new ManualClock(new Date(T0));
  });
  afterAll(() => ctx.tdb.cleanup());
  return ctx;
}

let seq = 0;
export const email = (name: string) => `${name}-${++seq}@example.test`;
