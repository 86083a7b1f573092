import { beforeAll, describe, expect, it } from 'vitest';
import { HOUR, T0, useStore } from '../../test/support/storeTestKit.js';
import { engines, PG_URL } from '../../test/support/testDb.js';
import { AuditStore, toWireAudit } from './auditStore.js';
import { openDb } from './db.js';
import { SettingStore } from './settingStore.js';

describe.each(engines)('audit and settings stores on %s', (engine) => {
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
      const record = {
        actorId: 'full',
        actorEmail: 'full@example.test',
        action: 'full.entry',
        targetType: 'token',
        targetId: 'tok-1',
        result: 'denied' as const,
        statusCode: 403,
        ip: '2001:db8::1',
        userAgent: 'curl/8.0',
        requestId: 'req-1',
        detail: { reason: 'scope', nested: { list: [1, 'two', null] } },
      };
      await audit().append(record);
      const { rows } = await audit().query({ action: 'full.entry', limit: 10 });
      expect(rows).toHaveLength(1);
      expect(rows[0] && toWireAudit(rows[0])).toEqual({ id: expect.any(Number), at, ...record });
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

    it('treats "_" and "%" in a prefix literally', async () => {
      for (const action of ['team_x.add', 'teamAx.add', 'pct%.y', 'pctZ.y']) {
        await audit().append({ actorId: null, actorEmail: null, action, result: 'success' });
      }
      expect(await actions({ action: 'team_x.', limit: 50 })).toEqual(['team_x.add']);
      expect(await actions({ action: 'pct%.', limit: 50 })).toEqual(['pct%.y']);
      await ctx.db.kysely
        .deleteFrom('audit_logs')
        .where('action', 'in', ['team_x.add', 'teamAx.add', 'pct%.y', 'pctZ.y'])
        .execute();
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
});
