import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken, CreatedToken } from '../../../sdk/wire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';

describe.each(engines)('token routes on %s', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(() => t.close());

  it('shows a token once, stores only its hash, and it authenticates', async () => {
    const user = await t.user('viewer');
    const { cookie, csrf } = await t.login(user);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, 'x-csrf-token': csrf },
      payload: { name: 'laptop', expiresInDays: 30 },
    });
    expect(res.statusCode).toBe(201);
    const created = res.json() as CreatedToken;
    expect(created.token).toMatch(/^rc_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.token.slice(0, 8));
    expect(new Date(created.expiresAt as string).getTime() - t.clock.now().getTime()).toBe(30 * 86_400_000);

    const rows = await t.services.db.kysely.selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(created.token);

    const bearer = { authorization: `Bearer ${created.token}` };
    const me = await t.app.inject({ url: '/api/v1/me', headers: bearer });
    expect(me.json()).toMatchObject({ authMethod: 'token', user: { id: user.id } });
    expect(me.json().csrfToken).toBeUndefined();

    const list = await t.app.inject({ url: '/api/v1/tokens', headers: bearer });
    const items = (list.json() as { items: (ApiToken & { token?: string })[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]?.token).toBeUndefined();
    expect(items[0]?.lastUsedAt).not.toBeNull();
    expect(list.body).not.toContain(created.token);
  });

  it('a token that never expires has expiresAt null', async () => {
    const user = await t.user('member');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: await t.bearer(user) },
      payload: { name: 'ci', expiresInDays: null },
    });
    expect(res.json()).toMatchObject({ expiresAt: null });
  });

  it("a user cannot see or revoke someone else's token", async () => {
    const a = await t.user('member');
    const b = await t.user('member');
    const created = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { authorization: await t.bearer(a) },
        payload: { name: 'a' },
      })
    ).json() as CreatedToken;
    const bAuth = { authorization: await t.bearer(b) };
    const list = await t.app.inject({ url: '/api/v1/tokens', headers: bAuth });
    expect(list.body).not.toContain(created.id);
    expect((await t.app.inject({ url: `/api/v1/tokens?userId=${a.id}`, headers: bAuth })).statusCode).toBe(
      403,
    );
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${created.id}`, headers: bAuth }))
        .statusCode,
    ).toBe(404);
    expect(
      (await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${created.token}` } }))
        .statusCode,
    ).toBe(200);
  });
});
