// The store on both engines: migrations, every store's operations, awkward strings and
// timestamps. Each describe block opens its own database (a schema of its own on PostgreSQL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropSchema,
  type Engine,
  engines,
  openTestDb,
  PG_URL,
  type TestDb,
  uniqueSchema,
} from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { AuditStore, toWireAudit } from './auditStore.js';
import { type Db, openDb, type StoreOptions } from './db.js';
import { migrations } from './migrations.js';
import { iso } from './schema.js';
import { SessionStore } from './sessionStore.js';
import { SettingStore } from './settingStore.js';
import { isForeignKeyViolation, isUniqueViolation } from './storeErrors.js';
import { TeamStore } from './teamStore.js';
import { TokenStore, toWireToken } from './tokenStore.js';
import { toWireUser, UserStore } from './userStore.js';

const T0 = '2026-01-01T00:00:00.000Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The rejection of `promise`; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the write to fail, but it succeeded');
}

/** Open a store for one describe block, with a manual clock, and close it afterwards. */
function useStore(engine: Engine) {
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
const email = (name: string) => `${name}-${++seq}@example.test`;

describe.each(engines)('store on %s', (engine) => {
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

  describe('UserStore', () => {
    const ctx = useStore(engine);
    const users = () => new UserStore(ctx.db, ctx.clock);

    it('creates a user, lower-casing the email', async () => {
      const row = await users().create({
        email: 'Ada.Lovelace@Example.TEST',
        name: 'Ada',
        role: 'admin',
        passwordHash: '$argon2id$hash',
      });
      expect(row).toMatchObject({ email: 'ada.lovelace@example.test', name: 'Ada', role: 'admin' });
      const stored = await users().byId(row.id);
      expect(stored && toWireUser(stored)).toEqual({
        id: row.id,
        email: 'ada.lovelace@example.test',
        name: 'Ada',
        role: 'admin',
        disabled: false,
        authMethods: ['password'],
        createdAt: ctx.clock.now().toISOString(),
        lastLoginAt: null,
      });
    });

    it('refuses a duplicate email, whatever its case, as a unique violation', async () => {
      const address = email('dup');
      await users().create({ email: address, role: 'member' });
      const err = await rejection(users().create({ email: address.toUpperCase(), role: 'member' }));
      expect(isUniqueViolation(err)).toBe(true);
      expect(isForeignKeyViolation(err)).toBe(false);
    });

    it('finds a user by email in any case, and by OIDC identity', async () => {
      const row = await users().create({
        email: email('Grace'),
        role: 'member',
        oidcIssuer: 'https://issuer.test',
        oidcSubject: 'sub-1',
      });
      expect((await users().byEmail(row.email.toUpperCase()))?.id).toBe(row.id);
      expect((await users().byOidcIdentity('https://issuer.test', 'sub-1'))?.id).toBe(row.id);
      expect(await users().byOidcIdentity('https://issuer.test', 'sub-2')).toBeUndefined();
      expect(await users().byEmail('nobody@example.test')).toBeUndefined();
      expect(await users().byId('no-such-id')).toBeUndefined();
    });

    it('updates fields and updated_at; a missing user gives undefined', async () => {
      const row = await users().create({ email: email('upd'), role: 'member' });
      ctx.clock.advance(HOUR);
      const login = new Date('2026-02-03T04:05:06.789Z');
      const updated = await users().update(row.id, {
        name: 'New Name',
        role: 'viewer',
        disabled: true,
        lastLoginAt: login,
        passwordHash: 'h2',
      });
      expect(updated).toMatchObject({ name: 'New Name', role: 'viewer', password_hash: 'h2' });
      expect(updated && iso(updated.updated_at)).toBe(ctx.clock.now().toISOString());
      expect(updated && iso(updated.created_at)).toBe(iso(row.created_at));
      expect(updated && iso(updated.disabled_at)).toBe(ctx.clock.now().toISOString());
      expect(updated && iso(updated.last_login_at)).toBe(login.toISOString());
      expect(updated && toWireUser(updated).disabled).toBe(true);

      const enabled = await users().update(row.id, { disabled: false, name: null });
      expect(enabled?.disabled_at).toBeNull();
      expect(enabled?.name).toBeNull();
      expect(await users().update('no-such-id', { name: 'x' })).toBeUndefined();
    });

    it('counts users, and users by role with or without the disabled ones', async () => {
      const before = await users().count();
      const adminsBefore = await users().countByRole('admin', { activeOnly: false });
      const activeAdminsBefore = await users().countByRole('admin', { activeOnly: true });
      const a = await users().create({ email: email('adm'), role: 'admin' });
      await users().create({ email: email('adm'), role: 'admin' });
      await users().update(a.id, { disabled: true });
      expect(await users().count()).toBe(before + 2);
      expect(await users().countByRole('admin', { activeOnly: false })).toBe(adminsBefore + 2);
      expect(await users().countByRole('admin', { activeOnly: true })).toBe(activeAdminsBefore + 1);
      expect(typeof (await users().count())).toBe('number');
    });
  });

  describe('TeamStore', () => {
    const ctx = useStore(engine);
    const teams = () => new TeamStore(ctx.db, ctx.clock);
    const users = () => new UserStore(ctx.db, ctx.clock);

    it('creates a team and refuses a duplicate name as a unique violation', async () => {
      const team = await teams().create({ name: 'platform', description: 'The platform team' });
      expect(await teams().byId(team.id)).toMatchObject({
        name: 'platform',
        description: 'The platform team',
      });
      const err = await rejection(teams().create({ name: 'platform' }));
      expect(isUniqueViolation(err)).toBe(true);
    });

    it('putMember adds, is idempotent, and changes the role without a second row', async () => {
      const team = await teams().create({ name: 'put-member' });
      const user = await users().create({ email: email('member'), role: 'member' });
      const addedAt = ctx.clock.now().toISOString();
      await teams().putMember(team.id, user.id, 'member');
      await teams().putMember(team.id, user.id, 'member');
      expect(await teams().memberRole(team.id, user.id)).toBe('member');
      ctx.clock.advance(MINUTE);
      await teams().putMember(team.id, user.id, 'maintainer');
      expect(await teams().memberRole(team.id, user.id)).toBe('maintainer');
      const members = await teams().members([team.id]);
      expect(members).toHaveLength(1);
      // A role change keeps the time the member was first added.
      expect(iso(members[0]?.created_at ?? null)).toBe(addedAt);
    });

    it('removeMember says whether there was a member to remove', async () => {
      const team = await teams().create({ name: 'remove-member' });
      const user = await users().create({ email: email('rm'), role: 'member' });
      await teams().putMember(team.id, user.id, 'member');
      expect(await teams().removeMember(team.id, user.id)).toBe(true);
      expect(await teams().removeMember(team.id, user.id)).toBe(false);
      expect(await teams().memberRole(team.id, user.id)).toBeUndefined();
    });

    it('lists memberships by team name, and teams by member', async () => {
      const user = await users().create({ email: email('multi'), role: 'member' });
      const zeta = await teams().create({ name: 'zeta-squad' });
      const alpha = await teams().create({ name: 'alpha-squad' });
      await teams().create({ name: 'other-squad' });
      await teams().putMember(zeta.id, user.id, 'maintainer');
      await teams().putMember(alpha.id, user.id, 'member');
      expect(await teams().membershipsOf(user.id)).toEqual([
        { id: alpha.id, name: 'alpha-squad', role: 'member' },
        { id: zeta.id, name: 'zeta-squad', role: 'maintainer' },
      ]);
      expect((await teams().list({ memberId: user.id })).map((t) => t.name)).toEqual([
        'alpha-squad',
        'zeta-squad',
      ]);
      expect((await teams().list()).map((t) => t.name)).toContain('other-squad');
    });

    it('toWire gives teams with their members sorted by email and ISO times', async () => {
      const createdAt = ctx.clock.now().toISOString();
      const team = await teams().create({ name: 'wire-team' });
      const empty = await teams().create({ name: 'wire-empty', description: 'nobody' });
      const b = await users().create({ email: `b-${++seq}@example.test`, name: 'Bee', role: 'member' });
      const a = await users().create({ email: `a-${++seq}@example.test`, role: 'member' });
      ctx.clock.advance(MINUTE);
      const addedAt = ctx.clock.now().toISOString();
      await teams().putMember(team.id, b.id, 'maintainer');
      await teams().putMember(team.id, a.id, 'member');
      const rows = [await teams().byId(team.id), await teams().byId(empty.id)].filter((r) => r !== undefined);
      expect(await teams().toWire(rows)).toEqual([
        {
          id: team.id,
          name: 'wire-team',
          description: null,
          createdAt,
          members: [
            { userId: a.id, email: a.email, name: null, role: 'member', addedAt },
            { userId: b.id, email: b.email, name: 'Bee', role: 'maintainer', addedAt },
          ],
        },
        { id: empty.id, name: 'wire-empty', description: 'nobody', createdAt, members: [] },
      ]);
      expect(await teams().toWire([])).toEqual([]);
    });

    it('updates and removes a team, with its memberships', async () => {
      const team = await teams().create({ name: 'doomed', description: 'x' });
      const user = await users().create({ email: email('doomed'), role: 'member' });
      await teams().putMember(team.id, user.id, 'member');
      expect(await teams().update(team.id, { name: 'renamed', description: null })).toMatchObject({
        name: 'renamed',
        description: null,
      });
      expect(await teams().remove(team.id)).toBe(true);
      expect(await teams().remove(team.id)).toBe(false);
      expect(await teams().membershipsOf(user.id)).toEqual([]);
    });
  });

  describe('TokenStore', () => {
    const ctx = useStore(engine);
    let userId: string;
    beforeAll(async () => {
      userId = (await new UserStore(ctx.db, ctx.clock).create({ email: email('tok'), role: 'member' })).id;
    });
    const tokens = () => new TokenStore(ctx.db, ctx.clock);

    it('creates a token and finds it by hash and id', async () => {
      const expiresAt = new Date(ctx.clock.now().getTime() + 30 * DAY);
      const row = await tokens().create({
        userId,
        name: 'ci',
        tokenHash: 'hash-ci',
        prefix: 'rc_ab',
        expiresAt,
      });
      const found = await tokens().byHash('hash-ci');
      expect(found && toWireToken(found)).toEqual({
        id: row.id,
        name: 'ci',
        prefix: 'rc_ab',
        userId,
        createdAt: ctx.clock.now().toISOString(),
        expiresAt: expiresAt.toISOString(),
        lastUsedAt: null,
        revokedAt: null,
      });
      expect((await tokens().byId(row.id))?.token_hash).toBe('hash-ci');
      expect(await tokens().byHash('no-such-hash')).toBeUndefined();
      expect((await tokens().listForUser(userId)).map((t) => t.id)).toContain(row.id);
    });

    it('refuses a duplicate hash as a unique violation', async () => {
      await tokens().create({ userId, name: 'a', tokenHash: 'hash-dup', prefix: 'p', expiresAt: null });
      const err = await rejection(
        tokens().create({ userId, name: 'b', tokenHash: 'hash-dup', prefix: 'p', expiresAt: null }),
      );
      expect(isUniqueViolation(err)).toBe(true);
    });

    it('revoke is idempotent: the first revocation time stays', async () => {
      const row = await tokens().create({
        userId,
        name: 'r',
        tokenHash: 'hash-r',
        prefix: 'p',
        expiresAt: null,
      });
      ctx.clock.advance(MINUTE);
      const revokedAt = ctx.clock.now().toISOString();
      await tokens().revoke(row.id);
      ctx.clock.advance(HOUR);
      await tokens().revoke(row.id);
      const stored = await tokens().byId(row.id);
      expect(stored && iso(stored.revoked_at)).toBe(revokedAt);
      await tokens().revoke('no-such-id');
    });

    it('touch writes last_used_at at most once a minute', async () => {
      const row = await tokens().create({
        userId,
        name: 't',
        tokenHash: 'hash-t',
        prefix: 'p',
        expiresAt: null,
      });
      const lastUsed = async () => iso((await tokens().byId(row.id))?.last_used_at ?? null);

      const first = ctx.clock.now().toISOString();
      await tokens().touch(row);
      expect(await lastUsed()).toBe(first);

      ctx.clock.advance(30_000);
      await tokens().touch(row);
      expect(await lastUsed()).toBe(first);

      // A row read afresh (the next request) carries the stored time and is held back too.
      ctx.clock.advance(29_999);
      const fresh = await tokens().byHash('hash-t');
      if (!fresh) throw new Error('token vanished');
      await tokens().touch(fresh);
      expect(await lastUsed()).toBe(first);

      ctx.clock.advance(1);
      await tokens().touch(fresh);
      expect(await lastUsed()).toBe(ctx.clock.now().toISOString());
    });
  });

  describe('SessionStore', () => {
    const ctx = useStore(engine);
    let userId: string;
    let otherId: string;
    beforeAll(async () => {
      const users = new UserStore(ctx.db, ctx.clock);
      userId = (await users.create({ email: email('sess'), role: 'member' })).id;
      otherId = (await users.create({ email: email('sess-other'), role: 'member' })).id;
    });
    const sessions = () => new SessionStore(ctx.db, ctx.clock);
    let n = 0;
    const create = (ttlSeconds: number, user = userId) =>
      sessions().create({
        userId: user,
        tokenHash: `session-${++n}`,
        csrfToken: `csrf-${n}`,
        authMethod: 'password',
        ip: '203.0.113.7',
        userAgent: 'vitest',
        ttlSeconds,
      });

    it('creates a session that expires ttl seconds later', async () => {
      const row = await create(3600);
      const stored = await sessions().byHash(row.token_hash);
      expect(stored).toMatchObject({
        id: row.id,
        user_id: userId,
        csrf_token: row.csrf_token,
        ip: '203.0.113.7',
      });
      expect(stored && iso(stored.expires_at)).toBe(new Date(ctx.clock.now().getTime() + HOUR).toISOString());
      expect(stored?.revoked_at).toBeNull();
    });

    it('revoke is idempotent', async () => {
      const row = await create(3600);
      const revokedAt = ctx.clock.now().toISOString();
      await sessions().revoke(row.id);
      ctx.clock.advance(MINUTE);
      await sessions().revoke(row.id);
      const stored = await sessions().byHash(row.token_hash);
      expect(stored && iso(stored.revoked_at)).toBe(revokedAt);
    });

    it("revokeAllForUser ends every live session of that user only, keeping earlier revocations' times", async () => {
      const early = await create(3600);
      await sessions().revoke(early.id);
      const earlyAt = ctx.clock.now().toISOString();
      ctx.clock.advance(MINUTE);
      const a = await create(3600);
      const b = await create(3600);
      const other = await create(3600, otherId);
      await sessions().revokeAllForUser(userId);
      const now = ctx.clock.now().toISOString();
      const revokedAt = async (hash: string) => iso((await sessions().byHash(hash))?.revoked_at ?? null);
      expect(await revokedAt(early.token_hash)).toBe(earlyAt);
      expect(await revokedAt(a.token_hash)).toBe(now);
      expect(await revokedAt(b.token_hash)).toBe(now);
      expect(await revokedAt(other.token_hash)).toBeNull();
    });

    it('touch slides the expiry forward, at most once a minute', async () => {
      const row = await create(3600);
      const created = ctx.clock.now().getTime();
      const stored = async () => {
        const s = await sessions().byHash(row.token_hash);
        return { lastSeen: iso(s?.last_seen_at ?? null), expires: iso(s?.expires_at ?? null) };
      };

      ctx.clock.advance(59_999);
      await sessions().touch(row, 3600);
      expect(await stored()).toEqual({
        lastSeen: new Date(created).toISOString(),
        expires: new Date(created + HOUR).toISOString(),
      });

      ctx.clock.advance(1);
      await sessions().touch(row, 3600);
      const now = ctx.clock.now().getTime();
      expect(await stored()).toEqual({
        lastSeen: new Date(now).toISOString(),
        expires: new Date(now + HOUR).toISOString(),
      });

      // A row read back from the database (Date objects on PostgreSQL) slides the same way.
      ctx.clock.advance(10 * MINUTE);
      const fresh = await sessions().byHash(row.token_hash);
      if (!fresh) throw new Error('session vanished');
      await sessions().touch(fresh, 7200);
      expect((await stored()).expires).toBe(new Date(ctx.clock.now().getTime() + 2 * HOUR).toISOString());
    });

    it('prune deletes sessions that ended more than a day ago and keeps the rest', async () => {
      await ctx.db.kysely.deleteFrom('sessions').execute();
      const expiredLongAgo = await create(3600);
      const revokedLongAgo = await create(30 * 86400);
      await sessions().revoke(revokedLongAgo.id);
      const live = await create(30 * 86400);
      ctx.clock.advance(2 * DAY);
      const expiredRecently = await create(1800);
      const revokedRecently = await create(30 * 86400);
      await sessions().revoke(revokedRecently.id);
      ctx.clock.advance(HOUR);

      expect(await sessions().prune()).toBe(2);
      const left = await ctx.db.kysely.selectFrom('sessions').select('id').execute();
      expect(left.map((r) => r.id).sort()).toEqual([live.id, expiredRecently.id, revokedRecently.id].sort());
      expect(await sessions().byHash(expiredLongAgo.token_hash)).toBeUndefined();
      expect(await sessions().prune()).toBe(0);
    });
  });

  describe('AuditStore', () => {
    const ctx = useStore(engine);
    const audit = () => new AuditStore(ctx.db, ctx.clock);
    const actions = async (filter: Parameters<AuditStore['query']>[0]) =>
      (await audit().query(filter)).rows.map((r) => r.action);

    beforeAll(async () => {
      // Six entries an hour apart from T0: the filter tests below select among them.
      const entries: [string | null, string | null, string, string | null, string | null][] = [
        ['u1', 'alice@example.test', 'auth.login', 'user', 'u1'],
        ['u2', 'bob@example.test', 'auth.logout', 'user', 'u2'],
        ['u1', 'alice@example.test', 'authz.grant', 'team', 't1'],
        [null, null, 'auth', null, null],
        ['u2', 'bob@example.test', 'workspace.create', 'workspace', 'u1'],
        ['u1', 'alice@example.test', 'user.auth.reset', 'user', 'u2'],
      ];
      for (const [actorId, actorEmail, action, targetType, targetId] of entries) {
        await audit().append({ actorId, actorEmail, action, targetType, targetId, result: 'success' });
        ctx.clock.advance(HOUR);
      }
    });

    it('appends an entry with every field and reads it back', async () => {
      const at = ctx.clock.now().toISOString();
      await audit().append({
        actorId: 'full',
        actorEmail: 'full@example.test',
        action: 'full.entry',
        targetType: 'token',
        targetId: 'tok-1',
        result: 'denied',
        statusCode: 403,
        ip: '2001:db8::1',
        userAgent: 'curl/8.0',
        requestId: 'req-1',
        detail: { reason: 'scope', nested: { list: [1, 'two', null] } },
      });
      const { rows } = await audit().query({ action: 'full.entry', limit: 10 });
      expect(rows).toHaveLength(1);
      const entry = rows[0] && toWireAudit(rows[0]);
      expect(entry).toEqual({
        id: expect.any(Number),
        at,
        actorId: 'full',
        actorEmail: 'full@example.test',
        action: 'full.entry',
        targetType: 'token',
        targetId: 'tok-1',
        result: 'denied',
        statusCode: 403,
        ip: '2001:db8::1',
        userAgent: 'curl/8.0',
        requestId: 'req-1',
        detail: { reason: 'scope', nested: { list: [1, 'two', null] } },
      });
      await ctx.db.kysely.deleteFrom('audit_logs').where('action', '=', 'full.entry').execute();
    });

    it('cuts a long user agent to 512 characters without splitting a character', async () => {
      await audit().append({
        actorId: null,
        actorEmail: null,
        action: 'ua.long',
        result: 'success',
        userAgent: `${'a'.repeat(511)}${'😀'.repeat(10)}`,
      });
      await audit().append({
        actorId: null,
        actorEmail: null,
        action: 'ua.long',
        result: 'success',
        userAgent: 'b'.repeat(2000),
      });
      const { rows } = await audit().query({ action: 'ua.long', limit: 10 });
      expect(rows.map((r) => r.user_agent)).toEqual(['b'.repeat(512), 'a'.repeat(511)]);
      await ctx.db.kysely.deleteFrom('audit_logs').where('action', '=', 'ua.long').execute();
    });

    it('filters by actor id or email (any case)', async () => {
      expect(await actions({ actor: 'u1', limit: 50 })).toEqual([
        'user.auth.reset',
        'authz.grant',
        'auth.login',
      ]);
      expect(await actions({ actor: 'Bob@Example.TEST', limit: 50 })).toEqual([
        'workspace.create',
        'auth.logout',
      ]);
      expect(await actions({ actor: 'nobody', limit: 50 })).toEqual([]);
    });

    it('matches an actor email recorded in mixed case (e.g. a sign-in attempt as typed)', async () => {
      await audit().append({
        actorId: null,
        actorEmail: 'Carol@Example.TEST',
        action: 'mixed.case',
        result: 'failure',
      });
      const { rows } = await audit().query({ actor: 'carol@example.test', limit: 5 });
      expect(rows.map((r) => [r.action, r.actor_email])).toEqual([['mixed.case', 'carol@example.test']]);
      expect((await audit().query({ actor: 'CAROL@example.test', limit: 5 })).rows).toHaveLength(1);
      await ctx.db.kysely.deleteFrom('audit_logs').where('action', '=', 'mixed.case').execute();
    });

    it('filters by exact action, or by prefix when it ends with "."', async () => {
      expect(await actions({ action: 'auth.login', limit: 50 })).toEqual(['auth.login']);
      expect(await actions({ action: 'auth', limit: 50 })).toEqual(['auth']);
      expect(await actions({ action: 'auth.', limit: 50 })).toEqual(['auth.logout', 'auth.login']);
      expect(await actions({ action: 'workspace.', limit: 50 })).toEqual(['workspace.create']);
      expect(await actions({ action: 'auth.log', limit: 50 })).toEqual([]);
    });

    it('filters by target as "type:id" or as a bare id', async () => {
      expect(await actions({ target: 'user:u1', limit: 50 })).toEqual(['auth.login']);
      expect(await actions({ target: 'u1', limit: 50 })).toEqual(['workspace.create', 'auth.login']);
      expect(await actions({ target: 'team:t1', limit: 50 })).toEqual(['authz.grant']);
      expect(await actions({ target: 'team:u1', limit: 50 })).toEqual([]);
    });

    it('filters by time: from inclusive, to exclusive, in any offset', async () => {
      const at = (hours: number) => new Date(Date.parse(T0) + hours * HOUR).toISOString();
      expect(await actions({ from: at(4), to: at(6), limit: 50 })).toEqual([
        'user.auth.reset',
        'workspace.create',
      ]);
      expect(await actions({ to: at(2), limit: 50 })).toEqual(['auth.logout', 'auth.login']);
      expect(await actions({ from: at(1), to: at(3), limit: 50 })).toEqual(['authz.grant', 'auth.logout']);
      // The same instants written with an offset select the same rows.
      expect(
        await actions({ from: '2026-01-01T02:00:00+01:00', to: '2025-12-31T22:00:00-05:00', limit: 50 }),
      ).toEqual(['authz.grant', 'auth.logout']);
      expect(await actions({ from: at(1), actor: 'u1', limit: 50 })).toEqual([
        'user.auth.reset',
        'authz.grant',
      ]);
    });

    it('pages through 250 rows with limit 100: every row exactly once, newest first', async () => {
      for (let i = 0; i < 250; i++) {
        await audit().append({
          actorId: 'pager',
          actorEmail: null,
          action: 'page.row',
          targetId: String(i),
          result: 'success',
        });
        ctx.clock.advance(1000);
      }
      const seen: string[] = [];
      const ids: number[] = [];
      const sizes: number[] = [];
      let beforeId: number | undefined;
      for (let page = 0; page < 10; page++) {
        const { rows, more } = await audit().query({ actor: 'pager', limit: 100, beforeId });
        sizes.push(rows.length);
        for (const r of rows) {
          seen.push(r.target_id ?? '');
          ids.push(Number(r.id));
        }
        if (!more) break;
        beforeId = Number(rows[rows.length - 1]?.id);
      }
      expect(sizes).toEqual([100, 100, 50]);
      expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => String(249 - i)));
      expect(new Set(ids).size).toBe(250);
      expect(ids.every((id, i) => i === 0 || id < (ids[i - 1] ?? 0))).toBe(true);
      expect(ids.every((id) => typeof id === 'number')).toBe(true);
    });

    it('a page exactly as long as what is left reports no more', async () => {
      const { rows, more } = await audit().query({ actor: 'u2', limit: 2 });
      expect(rows).toHaveLength(2);
      expect(more).toBe(false);
      expect((await audit().query({ actor: 'u2', limit: 1 })).more).toBe(true);
    });
  });

  describe('SettingStore', () => {
    const ctx = useStore(engine);
    const settings = () => new SettingStore(ctx.db, ctx.clock);

    it('getOrCreate stores once and returns the stored value after', async () => {
      expect(await settings().get('k1')).toBeUndefined();
      expect(await settings().getOrCreate('k1', () => 'first')).toBe('first');
      expect(await settings().getOrCreate('k1', () => 'second')).toBe('first');
      expect(await settings().get('k1')).toBe('first');
    });

    it('concurrent getOrCreate calls all return the same value', async () => {
      let made = 0;
      const values = await Promise.all(
        Array.from({ length: 8 }, () => settings().getOrCreate('cookie-key', () => `value-${++made}`)),
      );
      expect(new Set(values).size).toBe(1);
      expect(await settings().get('cookie-key')).toBe(values[0]);
    });

    it('concurrent getOrCreate calls from two separate connections agree', async () => {
      // A second handle on the same database, as a second replica would have.
      const other =
        engine === 'postgres'
          ? await openDb({ databaseUrl: PG_URL, schema: ctx.tdb.schema, poolSize: 2 })
          : undefined;
      try {
        const second = new SettingStore(other ?? ctx.db, ctx.clock);
        const values = await Promise.all([
          settings().getOrCreate('replica-key', () => 'from-a'),
          second.getOrCreate('replica-key', () => 'from-b'),
          settings().getOrCreate('replica-key', () => 'from-c'),
          second.getOrCreate('replica-key', () => 'from-d'),
        ]);
        expect(new Set(values).size).toBe(1);
      } finally {
        await other?.close();
      }
    });
  });

  describe('awkward strings', () => {
    const ctx = useStore(engine);
    const strings = [
      "Robert'); DROP TABLE users;--",
      '%_\\',
      '\\\'"`; -- /* */ $1 ? :name',
      'Zoë Ångström — 日本語 Ελληνικά שלום Ωμέγα e\u0301',
      '👩‍💻🚀🏳️‍🌈 family: 👨‍👩‍👧‍👦',
      '  leading and trailing spaces, a tab\tand a newline\n',
      'NULL',
      '',
      `${'long '.repeat(20_000)}✓ end`,
    ];

    it.each(strings.map((s, i) => [i, s] as const))(
      'string %i is stored and read back verbatim',
      async (i, s) => {
        const { db, clock } = ctx;
        const users = new UserStore(db, clock);
        const teams = new TeamStore(db, clock);
        const tokens = new TokenStore(db, clock);
        const audit = new AuditStore(db, clock);
        const settings = new SettingStore(db, clock);

        const user = await users.create({ email: `weird-${i}@example.test`, name: s, role: 'member' });
        expect((await users.byId(user.id))?.name).toBe(s);

        const team = await teams.create({ name: `team ${i} ${s}`, description: s });
        expect(await teams.byId(team.id)).toMatchObject({ name: `team ${i} ${s}`, description: s });
        await teams.putMember(team.id, user.id, 'member');
        const [wire] = await teams.toWire([team]);
        expect(wire?.members[0]?.name).toBe(s);

        const token = await tokens.create({
          userId: user.id,
          name: s,
          tokenHash: `h${i}${s}`,
          prefix: 'p',
          expiresAt: null,
        });
        expect((await tokens.byHash(`h${i}${s}`))?.id).toBe(token.id);
        expect((await tokens.byId(token.id))?.name).toBe(s);

        const action = `weird${i}.${s}`;
        await audit.append({
          actorId: s,
          actorEmail: null,
          action,
          targetType: 'thing',
          targetId: s,
          result: 'success',
          detail: { s },
        });
        const byAction = await audit.query({ action, limit: 5 });
        expect(byAction.rows).toHaveLength(1);
        expect(byAction.rows[0] && toWireAudit(byAction.rows[0])).toMatchObject({
          actorId: s,
          action,
          targetId: s,
          detail: { s },
        });
        expect((await audit.query({ actor: s, action: `weird${i}.`, limit: 5 })).rows).toHaveLength(1);
        expect((await audit.query({ target: `thing:${s}`, action, limit: 5 })).rows).toHaveLength(1);

        expect(await settings.getOrCreate(`key ${i} ${s}`, () => s)).toBe(s);
        expect(await settings.get(`key ${i} ${s}`)).toBe(s);
      },
    );

    it('LIKE wildcards in a filter match only themselves', async () => {
      const audit = new AuditStore(ctx.db, ctx.clock);
      for (const action of ['w%_\\.one', 'wxyz.two', 'w%_\\x.three', 'w%.four'])
        await audit.append({ actorId: '%', actorEmail: null, action, targetId: '_', result: 'success' });
      const actions = async (f: Parameters<AuditStore['query']>[0]) =>
        (await audit.query(f)).rows.map((r) => r.action);
      expect(await actions({ action: 'w%_\\.', limit: 10 })).toEqual(['w%_\\.one']);
      expect(await actions({ action: 'w%.', limit: 10 })).toEqual(['w%.four']);
      expect(await actions({ actor: '%', action: 'w%_\\x.three', limit: 10 })).toEqual(['w%_\\x.three']);
      expect((await audit.query({ target: '_', limit: 10 })).rows).toHaveLength(4);
      expect((await audit.query({ target: 'x', limit: 10 })).rows).toHaveLength(0);
    });
  });

  describe('timestamps', () => {
    const ctx = useStore(engine);

    it('come back as ISO strings with the same instant as written', async () => {
      const clock = new ManualClock(new Date('2026-03-04T05:06:07.089Z'));
      const users = new UserStore(ctx.db, clock);
      const user = await users.create({ email: email('time'), role: 'member' });
      const instants = ['1969-12-31T23:59:59.999Z', '2000-02-29T12:00:00.001Z', '2999-12-31T23:59:59.000Z'];
      for (const instant of instants) {
        await users.update(user.id, { lastLoginAt: new Date(instant) });
        const row = await users.byId(user.id);
        expect(row && iso(row.last_login_at)).toBe(instant);
      }
      const row = await users.byId(user.id);
      expect(row && iso(row.created_at)).toBe('2026-03-04T05:06:07.089Z');
      expect(row && toWireUser(row).createdAt).toBe('2026-03-04T05:06:07.089Z');

      const audit = new AuditStore(ctx.db, clock);
      await audit.append({ actorId: user.id, actorEmail: null, action: 'time.check', result: 'success' });
      const [entry] = (await audit.query({ action: 'time.check', limit: 1 })).rows;
      expect(entry && toWireAudit(entry).at).toBe('2026-03-04T05:06:07.089Z');
    });

    it('iso() turns either engine’s value into the same string', () => {
      const instant = '2026-03-04T05:06:07.089Z';
      expect(iso(instant)).toBe(instant);
      expect(iso(new Date(instant))).toBe(instant);
      expect(iso(null)).toBeNull();
    });

    it.runIf(engine === 'postgres')(
      'a session in another time zone reads and writes the same instants',
      async () => {
        const instant = '2026-07-01T00:30:00.250Z';
        const clock = new ManualClock(new Date(instant));
        await ctx.db.kysely.transaction().execute(async (trx) => {
          await sql`set local timezone = 'Asia/Kathmandu'`.execute(trx);
          const users = new UserStore({ ...ctx.db, kysely: trx }, clock);
          const user = await users.create({ email: email('tz'), role: 'member' });
          const row = await users.byId(user.id);
          expect(row && iso(row.created_at)).toBe(instant);
          const { rows } = await sql<{
            t: string;
          }>`select created_at::text as t from users where id = ${user.id}`.execute(trx);
          expect(rows[0]?.t).toBe('2026-07-01 06:15:00.25+05:45');
        });
      },
    );
  });
});
