// The per-workspace queue's claim (TaskStore.startIfIdle): of tasks claimed at the same moment by
// stores on one database (replicas), one wins; a workspace with an active task takes none; other
// workspaces are not held up.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, openSharedTestDb, openTestDb, type TestDb } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { TaskStore } from './taskStore.js';
import { UserStore } from './userStore.js';
import { WorkspaceStore } from './workspaceStore.js';

describe.each(engines)('TaskStore.startIfIdle (%s)', (engine) => {
  let tdb: TestDb;
  let others: TestDb[];
  let stores: TaskStore[];
  let ownerId: string;
  const clock = new ManualClock();
  beforeEach(async () => {
    tdb = await openTestDb(engine);
    // Three "replicas" on PostgreSQL, each with its own pool; SQLite is one process.
    others = tdb.schema ? [await openSharedTestDb(tdb.schema), await openSharedTestDb(tdb.schema)] : [];
    stores = [tdb, ...others].map((d) => new TaskStore(d.db, clock));
    ownerId = (
      await new UserStore(tdb.db, clock).create({
        email: 'o@example.test',
        name: 'o',
        role: 'member',
        passwordHash: null,
      })
    ).id;
    for (const id of ['w1', 'w2'])
      await new WorkspaceStore(tdb.db, clock).createOrGet({
        id,
        ownerId,
        repository: `https://x.test/${id}`,
        name: id,
        driver: 'local',
        cpu: 1,
        memoryBytes: 1024 ** 3,
        pids: 256,
      });
  });
  afterEach(async () => {
    for (const o of others) await o.cleanup();
    await tdb.cleanup();
  });
  const task = (workspaceId: string) =>
    (stores[0] as TaskStore).create({
      ownerId,
      workspaceId,
      repository: `https://x.test/${workspaceId}`,
      prompt: 'p',
      permissionMode: 'default',
    });

  it('of several tasks of one workspace claimed at once, exactly one starts', async () => {
    for (let round = 0; round < 5; round++) {
      const tasks = await Promise.all([task('w1'), task('w1'), task('w1')]);
      const won = await Promise.all(
        tasks.map((t, i) => (stores[i % stores.length] as TaskStore).startIfIdle(t.id, 'w1')),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      const active = await (stores[0] as TaskStore).activeIn('w1');
      expect(active?.status).toBe('starting');
      await (stores[0] as TaskStore).transition(active?.id as string, ['starting'], 'succeeded');
      // The losers are still queued, not lost.
      for (const t of tasks)
        if (t.id !== active?.id) expect((await (stores[0] as TaskStore).byId(t.id))?.status).toBe('queued');
      for (const t of tasks) await (stores[0] as TaskStore).transition(t.id, ['queued'], 'cancelled');
    }
  });

  it('takes nothing while a task of the workspace is active, and does not hold up another workspace', async () => {
    const running = await task('w1');
    expect(await (stores[0] as TaskStore).startIfIdle(running.id, 'w1')).toBe(true);
    await (stores[0] as TaskStore).transition(running.id, ['starting'], 'running');
    const next = await task('w1');
    expect(await (stores[1 % stores.length] as TaskStore).startIfIdle(next.id, 'w1')).toBe(false);
    expect((await (stores[0] as TaskStore).byId(next.id))?.status).toBe('queued');
    const elsewhere = await task('w2');
    expect(await (stores[0] as TaskStore).startIfIdle(elsewhere.id, 'w2')).toBe(true);
    // A task that is not queued is not moved.
    expect(await (stores[0] as TaskStore).startIfIdle(running.id, 'w2')).toBe(false);
  });
});
