// Opening a PostgreSQL store while other schemas of the same database are being dropped (other
// installations, other test files): it must neither fail nor look into them. Kysely's
// introspection of every table used to fail with "schema … does not exist" in that window.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchema, PG_URL, uniqueSchema } from '../../test/support/testDb.js';
import { openDb } from './db.js';

describe('opening a PostgreSQL store beside schemas being dropped', () => {
  const mine: string[] = [];
  afterAll(async () => {
    for (const s of mine) await dropSchema(s);
  });

  it('opens (and finds its own migrations) every time', async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const doomed = Array.from({ length: 30 }, () => uniqueSchema());
      for (const s of doomed) {
        mine.push(s);
        await admin.query(`create schema ${s}; create table ${s}.t (id serial primary key, name text)`);
      }
      // Drops one after another while the stores open.
      const dropping = (async () => {
        for (const s of doomed) await admin.query(`drop schema ${s} cascade`);
      })();
      const opened = [];
      for (let i = 0; i < 6; i++) {
        const schema = uniqueSchema();
        mine.push(schema);
        const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 1 });
        expect(db.newerMigrations).toEqual([]);
        opened.push(db);
        // Opening it again reads its own migration table, not another schema's.
        const again = await openDb({ databaseUrl: PG_URL, schema, poolSize: 1 });
        expect(again.newerMigrations).toEqual([]);
        await again.close();
      }
      await dropping;
      for (const db of opened) await db.close();
    } finally {
      await admin.end();
    }
  }, 60_000);
});
