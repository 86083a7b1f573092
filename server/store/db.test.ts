import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { dropSchema, engines, PG_URL, uniqueSchema } from '../../test/support/testDb.js';
import { openDb } from './db.js';

describe.each(engines)('migrations from a newer version on %s', (engine) => {
  it('a database migrated by a newer version still opens, without migrating', async () => {
    const opts =
      engine === 'sqlite'
        ? { sqlitePath: join(mkdtempSync(join(tmpdir(), 'rc-mig-')), 'db.sqlite') }
        : { databaseUrl: PG_URL, schema: uniqueSchema() };
    const first = await openDb(opts);
    expect(first.newerMigrations).toEqual([]);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')`.execute(
      first.kysely,
    );
    await first.close();
    const again = await openDb(opts);
    try {
      expect(again.newerMigrations).toEqual(['9999_from_the_future']);
      await again.ping();
    } finally {
      await again.close();
      if ('schema' in opts && opts.schema) await dropSchema(opts.schema);
    }
  });
});
