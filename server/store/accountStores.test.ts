import { beforeAll, describe, expect, it } from 'vitest';
import { DAY, email, HOUR, MINUTE, rejection, useStore } from '../../test/support/storeTestKit.js';
import { engines } from '../../test/support/testDb.js';
import { iso } from './schema.js';
import { SessionStore } from './sessionStore.js';
import { isForeignKeyViolation, isUniqueViolation } from './storeErrors.js';
import { TeamStore } from './teamStore.js';
import { TokenStore, toWireToken } from './tokenStore.js';
import { toWireUser, UserStore } from './userStore.js';

describe.each(engines)('account stores on %s', (engine) => {
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
      const b = await users().create({ email: email('b'), name: 'Bee', role: 'member' });
      const a = await users().create({ email: email('a'), role: 'member' });
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

    it('finds a token with its owner in one query, each row as the stores read it alone', async () => {
      const users = new UserStore(ctx.db, ctx.clock);
      const owner = await users.create({ email: email('owner'), role: 'admin', name: 'Owner' });
      await users.update(owner.id, { disabled: true });
      await tokens().create({
        userId: owner.id,
        name: 'joined',
        tokenHash: 'hash-joined',
        prefix: 'p',
        expiresAt: null,
      });
      const both = await tokens().byHashWithOwner('hash-joined');
      expect(both?.row).toEqual(await tokens().byHash('hash-joined'));
      expect(both?.user).toEqual(await users.byId(owner.id));
      expect(both?.row.user_id).toBe(owner.id);
      expect(await tokens().byHashWithOwner('no-such-hash')).toBeUndefined();
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

    it('touches of many tokens in one turn are written together, every one of them', async () => {
      const store = tokens();
      const rows = await Promise.all(
        Array.from({ length: 520 }, (_, i) =>
          store.create({ userId, name: `b${i}`, tokenHash: `hash-batch-${i}`, prefix: 'p', expiresAt: null }),
        ),
      );
      const at = ctx.clock.now().toISOString();
      await Promise.all(rows.map((r) => store.touch(r)));
      const stored = await ctx.db.kysely
        .selectFrom('api_tokens')
        .select('last_used_at')
        .where('token_hash', 'like', 'hash-batch-%')
        .execute();
      expect(stored).toHaveLength(520);
      for (const r of stored) expect(iso(r.last_used_at)).toBe(at);
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
});
