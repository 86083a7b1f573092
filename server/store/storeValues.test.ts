import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { email, useStore } from '../../test/support/storeTestKit.js';
import { engines } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { AuditStore, toWireAudit } from './auditStore.js';
import { iso } from './schema.js';
import { SettingStore } from './settingStore.js';
import { TeamStore } from './teamStore.js';
import { TokenStore } from './tokenStore.js';
import { toWireUser, UserStore } from './userStore.js';

describe.each(engines)('stored values on %s', (engine) => {
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
