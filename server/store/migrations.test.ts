// Migrations and constraints on both engines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { email, rejection, T0, useStore } from '../../test/support/storeTestKit.js';
import { dropSchema, engines, openTestDb, PG_URL, uniqueSchema } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { AuditStore } from './auditStore.js';
import { type Db, openDb, type StoreOptions } from './db.js';
import { migrations } from './migrations.js';
import { SessionStore } from './sessionStore.js';
import { isForeignKeyViolation, isUniqueViolation } from './storeErrors.js';
import { TeamStore } from './teamStore.js';
import { TokenStore } from './tokenStore.js';
import { UserStore } from './userStore.js';

describe.each(engines)('migrations on %s', (engine) => {
  describe('migrations', () => {
    let scratch: string;
    let schema: string;
    let options: StoreOptions;
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), 'rc-store-'));
      schema = uniqueSchema();
      options =
        engine === 'sqlite'
          ? { sqlitePath: join(scratch, 'rc.db') }
          : { databaseUrl: PG_URL, schema, poolSize: 2 };
    });
    afterAll(async () => {
      rmSync(scratch, { recursive: true, force: true });
      if (engine === 'postgres') await dropSchema(schema);
    });

    const migrationRows = (db: Db) =>
      sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name`
        .execute(db.kysely)
        .then((r) => r.rows);

    it('records 0001_foundation in kysely_migration, and every known migration', async () => {
      const db = await openDb(options);
      try {
        const rows = await migrationRows(db);
        expect(rows.map((r) => r.name)).toContain('0001_foundation');
        expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
        expect(db.newerMigrations).toEqual([]);
      } finally {
        await db.close();
      }
    });

    it('opening the same database again migrates nothing and keeps the data', async () => {
      const first = await openDb(options);
      const users = new UserStore(first, new ManualClock());
      const kept = await users.create({ email: email('kept'), role: 'owner' });
      const before = await migrationRows(first);
      await first.close();

      const second = await openDb(options);
      try {
        expect(second.newerMigrations).toEqual([]);
        expect(await migrationRows(second)).toEqual(before);
        expect((await new UserStore(second, new ManualClock()).byId(kept.id))?.email).toBe(kept.email);
      } finally {
        await second.close();
      }
    });

    it.runIf(engine === 'postgres')(
      'a second schema in the same database is migrated on its own',
      async () => {
        const other = await openTestDb('postgres');
        try {
          expect((await migrationRows(other.db)).map((r) => r.name)).toEqual(Object.keys(migrations).sort());
          expect(await new UserStore(other.db, new ManualClock()).count()).toBe(0);
        } finally {
          await other.cleanup();
        }
      },
    );
  });

  describe.runIf(engine === 'postgres')('migrations without a named schema', () => {
    // A database of its own, so that its default schema (public) is ours to migrate.
    const name = `${uniqueSchema()}_db`;
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const adminQuery = async (text: string) => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    beforeAll(() => adminQuery(`create database ${name}`));
    afterAll(() => adminQuery(`drop database if exists ${name} with (force)`));

    it('migrates the default schema even when another schema has its own kysely_migration', async () => {
      const otherApp = await openDb({ databaseUrl: url.toString(), schema: 'other_app', poolSize: 1 });
      await otherApp.close();
      for (let open = 0; open < 2; open++) {
        const db = await openDb({ databaseUrl: url.toString(), poolSize: 1 });
        try {
          expect(db.newerMigrations).toEqual([]);
          const { rows } = await sql<{ name: string }>`select name from public.kysely_migration`.execute(
            db.kysely,
          );
          expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
          await new UserStore(db, new ManualClock()).create({ email: email('public'), role: 'owner' });
          expect(await new UserStore(db, new ManualClock()).count()).toBe(open + 1);
        } finally {
          await db.close();
        }
      }
    });
  });

  describe('constraints', () => {
    const ctx = useStore(engine);

    it('enforces foreign keys: a team member for a missing user is refused', async () => {
      const team = await new TeamStore(ctx.db, ctx.clock).create({ name: 'fk-team' });
      const err = await rejection(
        ctx.db.kysely
          .insertInto('team_members')
          .values({ team_id: team.id, user_id: 'no-such-user', role: 'member', created_at: T0 })
          .execute(),
      );
      expect(isForeignKeyViolation(err)).toBe(true);
      expect(isUniqueViolation(err)).toBe(false);
    });

    it('deleting a user removes their tokens, sessions and memberships, and keeps audit rows', async () => {
      const { db, clock } = ctx;
      const users = new UserStore(db, clock);
      const teams = new TeamStore(db, clock);
      const tokens = new TokenStore(db, clock);
      const sessions = new SessionStore(db, clock);
      const audit = new AuditStore(db, clock);
      const user = await users.create({ email: email('leaver'), role: 'member' });
      const stayer = await users.create({ email: email('stayer'), role: 'member' });
      const team = await teams.create({ name: 'cascade-team' });
      await teams.putMember(team.id, user.id, 'member');
      await teams.putMember(team.id, stayer.id, 'maintainer');
      await tokens.create({
        userId: user.id,
        name: 't',
        tokenHash: 'cascade-h',
        prefix: 'p',
        expiresAt: null,
      });
      await sessions.create({
        userId: user.id,
        tokenHash: 'cascade-s',
        csrfToken: 'c',
        authMethod: 'password',
        ip: null,
        userAgent: null,
        ttlSeconds: 3600,
      });
      await audit.append({
        actorId: user.id,
        actorEmail: user.email,
        action: 'user.login',
        result: 'success',
      });

      await db.kysely.deleteFrom('users').where('id', '=', user.id).execute();

      expect(await tokens.byHash('cascade-h')).toBeUndefined();
      expect(await sessions.byHash('cascade-s')).toBeUndefined();
      expect(await teams.memberRole(team.id, user.id)).toBeUndefined();
      expect(await teams.memberRole(team.id, stayer.id)).toBe('maintainer');
      const { rows } = await audit.query({ actor: user.id, limit: 10 });
      expect(rows.map((r) => [r.actor_id, r.actor_email, r.action])).toEqual([
        [user.id, user.email, 'user.login'],
      ]);
    });
  });
});
