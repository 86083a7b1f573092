import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, openTestDb, PG_URL, type TestDb } from '../../test/support/testDb.js';
import { systemClock } from '../clock.js';
import { UserStore } from './userStore.js';

describe.each(engines)('UserStore.updateKeepingAnOwner on %s', (engine) => {
  let tdb: TestDb;
  let users: UserStore;
  beforeAll(async () => {
    tdb = await openTestDb(engine);
    users = new UserStore(tdb.db, systemClock);
  });
  afterAll(() => tdb.cleanup());

  it('refuses to demote or disable the last active owner, and allows it once another exists', async () => {
    const first = await users.create({ email: `solo-${engine}@example.test`, role: 'owner' });
    expect(await users.updateKeepingAnOwner(first.id, { role: 'admin' })).toBe('last_owner');
    expect(await users.updateKeepingAnOwner(first.id, { disabled: true })).toBe('last_owner');
    expect((await users.byId(first.id))?.role).toBe('owner');
    await users.create({ email: `second-${engine}@example.test`, role: 'owner' });
    const demoted = await users.updateKeepingAnOwner(first.id, { role: 'admin' });
    expect(demoted).toMatchObject({ role: 'admin' });
  });

  it('of two owners demoting each other at once, exactly one succeeds', async () => {
    const rows = await users.list();
    for (const r of rows) if (r.role === 'owner') await users.update(r.id, { role: 'member' });
    const a = await users.create({ email: `a-${engine}@example.test`, role: 'owner' });
    const b = await users.create({ email: `b-${engine}@example.test`, role: 'owner' });
    const results = await Promise.all([
      users.updateKeepingAnOwner(a.id, { role: 'member' }),
      users.updateKeepingAnOwner(b.id, { role: 'member' }),
    ]);
    expect(results.filter((r) => r === 'last_owner')).toHaveLength(1);
    expect(await users.countByRole('owner', { activeOnly: true })).toBe(1);
  });

  it.runIf(engine === 'postgres')(
    'sees a concurrent demotion committed while it waited (no lost update)',
    async () => {
      for (const r of await users.list())
        if (r.role === 'owner') await users.update(r.id, { role: 'member' });
      const owner = await users.create({ email: `locked-${engine}@example.test`, role: 'owner' });
      const second = await users.create({ email: `locked2-${engine}@example.test`, role: 'owner' });
      const other = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${tdb.schema}` });
      await other.connect();
      try {
        // Another transaction demotes the second owner and has not committed yet.
        await other.query('begin');
        await other.query("update users set role = 'member' where id = $1", [second.id]);
        let settled = false;
        const pending = users.updateKeepingAnOwner(owner.id, { role: 'member' }).finally(() => {
          settled = true;
        });
        // Commit only once our update has either finished (no lock: the bug) or is waiting on
        // the other transaction's row lock (the fix), so the interleaving is the racy one.
        const deadline = Date.now() + 5000;
        for (;;) {
          const waiting = await other.query(
            "select 1 from pg_stat_activity where wait_event_type = 'Lock' and pid <> pg_backend_pid()",
          );
          if (settled || (waiting.rowCount ?? 0) > 0) break;
          if (Date.now() > deadline)
            throw new Error('the guarded update neither finished nor waited on the lock');
          await new Promise((r) => setTimeout(r, 10));
        }
        await other.query('commit');
        // Without the row lock the guard would have counted two owners and left none.
        expect(await pending).toBe('last_owner');
        expect(await users.countByRole('owner', { activeOnly: true })).toBe(1);
      } finally {
        await other.end();
      }
    },
  );
});
