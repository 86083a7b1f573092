// Two replicas' mutexes on one PostgreSQL schema (their own pools, as two processes have): their
// sections of one name never overlap, sections of other names do, and a section that throws lets
// the next one in. On SQLite (no sessions) sections of one process queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSharedTestDb, openTestDb, type TestDb } from '../../test/support/testDb.js';
import { ClusterMutex } from './clusterMutex.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ClusterMutex', () => {
  let first: TestDb;
  let second: TestDb;

  beforeAll(async () => {
    first = await openTestDb('postgres');
    second = await openSharedTestDb(first.schema as string);
  });
  afterAll(async () => {
    await second?.cleanup();
    await first?.cleanup();
  });

  /** Runs `count` sections on each mutex at once; the most that ever ran at the same time. */
  async function overlap(a: ClusterMutex, b: ClusterMutex, names: [string, string], count: number) {
    let active = 0;
    let most = 0;
    const section = async () => {
      active += 1;
      most = Math.max(most, active);
      await sleep(15);
      active -= 1;
    };
    const runs = Array.from({ length: count }, () => [a.run(names[0], section), b.run(names[1], section)]);
    await Promise.all(runs.flat());
    return most;
  }

  it('keeps two replicas out of each other’s section of one name', async () => {
    const a = new ClusterMutex(first.db);
    const b = new ClusterMutex(second.db);
    expect(await overlap(a, b, ['placement', 'placement'], 6)).toBe(1);
  });

  it('lets sections of other names run at once', async () => {
    const a = new ClusterMutex(first.db);
    const b = new ClusterMutex(second.db);
    expect(await overlap(a, b, ['placement', 'other'], 4)).toBe(2);
  });

  it('a section that throws rejects its caller and lets the next in', async () => {
    const a = new ClusterMutex(first.db);
    const b = new ClusterMutex(second.db);
    await expect(a.run('placement', async () => Promise.reject(new Error('no room')))).rejects.toThrow(
      'no room',
    );
    expect(await b.run('placement', async () => 'placed')).toBe('placed');
    expect(await a.run('placement', async () => 'again')).toBe('again');
  });

  it('queues the sections of one process on SQLite', async () => {
    const db = await openTestDb('sqlite');
    try {
      const m = new ClusterMutex(db.db);
      expect(await overlap(m, m, ['placement', 'placement'], 5)).toBe(1);
    } finally {
      await db.cleanup();
    }
  });
});
