import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/support/testApp.js';
import { engines } from '../test/support/testDb.js';
import { bootstrapAdmin } from './bootstrapAdmin.js';

describe.each(engines)('first administrator on %s', (engine) => {
  let t: TestApp;
  afterEach(() => t.close());

  it('a generated password works once: everything but setting a new one is refused until then', async () => {
    t = await createTestApp(engine);
    const created = await bootstrapAdmin(t.services);
    expect(created?.generatedPassword).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(await bootstrapAdmin(t.services)).toBeUndefined();

    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: created?.email, password: created?.generatedPassword },
    });
    expect(login.json()).toMatchObject({ passwordChangeRequired: true, user: { role: 'owner' } });
    const cookie = `rc_session=${login.cookies.find((c) => c.name === 'rc_session')?.value}`;
    const headers = { cookie, 'x-csrf-token': login.json().csrfToken as string };
    const id = login.json().user.id as string;

    for (const [method, url, payload] of [
      ['GET', '/api/v1/users', undefined],
      ['POST', '/api/v1/tokens', { name: 'x' }],
      ['PATCH', `/api/v1/users/${id}`, { name: 'Not yet' }],
      [
        'PATCH',
        `/api/v1/users/${id}`,
        { password: 'new password 123', currentPassword: created?.generatedPassword, name: 'x' },
      ],
    ] as const) {
      const res = await t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('password_change_required');
    }
    expect((await t.app.inject({ url: '/api/v1/me', headers })).json()).toMatchObject({
      passwordChangeRequired: true,
    });

    const change = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${id}`,
      headers,
      payload: { password: 'a new long passphrase', currentPassword: created?.generatedPassword },
    });
    expect(change.statusCode).toBe(200);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: created?.email, password: 'a new long passphrase' },
    });
    expect(again.json()).toMatchObject({ passwordChangeRequired: false });
    const bearer = `rc_session=${again.cookies.find((c) => c.name === 'rc_session')?.value}`;
    expect((await t.app.inject({ url: '/api/v1/users', headers: { cookie: bearer } })).statusCode).toBe(200);
    const old = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: created?.email, password: created?.generatedPassword },
    });
    expect(old.statusCode).toBe(401);
  });

  it('a password chosen with RC_ADMIN_PASSWORD is not one-time', async () => {
    t = await createTestApp(engine, {
      flags: { 'admin.email': 'Boss@Example.test', 'admin.password': 'chosen by the operator' },
    });
    expect(await bootstrapAdmin(t.services)).toEqual({ email: 'boss@example.test' });
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'boss@example.test', password: 'chosen by the operator' },
    });
    expect(login.json()).toMatchObject({ passwordChangeRequired: false, user: { role: 'owner' } });
  });
});
