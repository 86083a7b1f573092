import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditPage, CreatedToken } from '../../../sdk/wire.js';
import { createTestApp, TEST_PASSWORD, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import type { UserRow } from '../../store/userStore.js';

describe.each(engines)('audit log on %s', (engine) => {
  let t: TestApp;
  let admin: UserRow;
  let auth: { authorization: string };

  beforeAll(async () => {
    t = await createTestApp(engine);
    admin = await t.user('admin');
    auth = { authorization: await t.bearer(admin) };
  });
  afterAll(() => t.close());

  const entries = async (qs: string) =>
    ((await t.app.inject({ url: `/api/v1/audit?${qs}`, headers: auth })).json() as AuditPage).items;

  it('records sign-in success and failure with IP, user agent and request id', async () => {
    const user = await t.user('member');
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'user-agent': 'audit-test/1.0', 'x-request-id': 'req-login-ok' },
      payload: { email: user.email, password: TEST_PASSWORD },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: 'the wrong password' },
    });
    const [failed, ok] = await entries(`action=auth.login&actor=${user.email}`);
    expect(ok).toMatchObject({
      action: 'auth.login',
      result: 'success',
      actorId: user.id,
      userAgent: 'audit-test/1.0',
      requestId: 'req-login-ok',
      statusCode: 200,
    });
    expect(ok?.ip).toBe('127.0.0.1');
    expect(failed).toMatchObject({
      action: 'auth.login',
      result: 'denied',
      actorEmail: user.email,
      statusCode: 401,
      detail: { method: 'password', reason: 'bad_credentials' },
    });
  });

  it('records token creation and revocation without the secret', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: auth,
      payload: { name: 'audited' },
    });
    const created = res.json() as CreatedToken;
    await t.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${created.id}`, headers: auth });
    const [revoked] = await entries(`action=token.revoked&target=${created.id}`);
    const [made] = await entries(`action=token.created&target=token:${created.id}`);
    expect(made).toMatchObject({
      actorId: admin.id,
      targetType: 'token',
      targetId: created.id,
      result: 'success',
    });
    expect(revoked).toMatchObject({ actorId: admin.id, targetId: created.id, result: 'success' });
    const all = JSON.stringify(await t.services.db.kysely.selectFrom('audit_logs').selectAll().execute());
    expect(all).not.toContain(created.token);
  });

  it('records every mutation, including refused ones, and never a password or token', async () => {
    const member = await t.user('member');
    const memberAuth = { authorization: await t.bearer(member) };
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: memberAuth,
      payload: { email: 'x@example.test', password: 'a secret password!' },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: auth,
      payload: { email: 'y@example.test', password: 'another secret pw!' },
    });
    await t.app.inject({ method: 'POST', url: '/api/v1/nowhere', headers: auth, payload: {} });
    const denied = (await entries(`actor=${member.id}`))[0] as AuditEntry;
    expect(denied).toMatchObject({ action: 'user.create', result: 'denied', statusCode: 403 });
    expect((await entries('action=request.unrouted'))[0]).toMatchObject({
      detail: { path: '/api/v1/nowhere' },
      statusCode: 404,
    });
    const rows = JSON.stringify(await t.services.db.kysely.selectFrom('audit_logs').selectAll().execute());
    for (const secret of [
      'a secret password!',
      'another secret pw!',
      TEST_PASSWORD,
      auth.authorization.slice(7),
    ]) {
      expect(rows).not.toContain(secret);
    }
  });

  it('filters by time range and pages with a cursor, newest first, without gaps or repeats', async () => {
    const start = t.clock.now().toISOString();
    t.clock.advance(1000);
    for (let i = 0; i < 7; i++) {
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/teams',
        headers: auth,
        payload: { name: `paged ${i}` },
      });
    }
    t.clock.advance(1000);
    const end = t.clock.now().toISOString();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await t.app.inject({
          url: `/api/v1/audit?action=team.create&from=${start}&to=${end}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
          headers: auth,
        })
      ).json() as AuditPage;
      seen.push(...page.items.map((e) => e.id));
      cursor = page.next;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect(await entries(`action=team.create&from=${end}`)).toEqual([]);
  });
});
