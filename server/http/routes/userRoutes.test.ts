import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_PASSWORD, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import type { UserRow } from '../../store/userStore.js';

describe.each(engines)('user routes on %s', (engine) => {
  let t: TestApp;
  let owner: UserRow;
  let ownerAuth: { authorization: string };

  beforeAll(async () => {
    t = await createTestApp(engine);
    owner = await t.user('owner');
    ownerAuth = { authorization: await t.bearer(owner) };
  });
  afterAll(() => t.close());

  const patch = (id: string, payload: object, headers = ownerAuth) =>
    t.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers, payload });

  it('creates a user who can then sign in, and never returns the password hash', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: ownerAuth,
      payload: {
        email: 'New.Person@Example.test',
        name: 'New Person',
        password: TEST_PASSWORD,
        role: 'viewer',
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      email: 'new.person@example.test',
      role: 'viewer',
      authMethods: ['password'],
      disabled: false,
    });
    expect(res.body).not.toMatch(/argon2|password_hash|passwordHash/);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'new.person@example.test', password: TEST_PASSWORD },
    });
    expect(login.statusCode).toBe(200);
  });

  it('lists users for admins', async () => {
    const res = await t.app.inject({ url: '/api/v1/users', headers: ownerAuth });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { items: { email: string }[] }).items.map((u) => u.email)).toContain(owner.email);
  });

  it('changes a role and records who did it in the audit log', async () => {
    const member = await t.user('member');
    const res = await patch(member.id, { role: 'admin' });
    expect(res.json()).toMatchObject({ role: 'admin' });
    const audit = await t.app.inject({
      url: `/api/v1/audit?action=user.role_changed&target=user:${member.id}`,
      headers: ownerAuth,
    });
    expect((audit.json() as { items: unknown[] }).items[0]).toMatchObject({
      actorId: owner.id,
      targetId: member.id,
      result: 'success',
      detail: { from: 'member', to: 'admin', via: 'token' },
    });
  });

  it('only owners act on owners, and nobody on their own role', async () => {
    const solo = await createTestApp(engine);
    try {
      const o1 = await solo.user('owner');
      const o2 = await solo.user('owner');
      const a1 = { authorization: await solo.bearer(o1) };
      const demote = await solo.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${o2.id}`,
        headers: a1,
        payload: { role: 'admin' },
      });
      expect(demote.statusCode).toBe(200);
      // o2 is now an admin; o1 is the last owner and cannot be demoted by anyone.
      const admin = { authorization: await solo.bearer(o2) };
      const again = await solo.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${o1.id}`,
        headers: admin,
        payload: { disabled: true },
      });
      expect(again.statusCode).toBe(403);
      const o3 = await solo.user('owner');
      const a3 = { authorization: await solo.bearer(o3) };
      expect(
        (
          await solo.app.inject({
            method: 'PATCH',
            url: `/api/v1/users/${o1.id}`,
            headers: a3,
            payload: { disabled: true },
          })
        ).statusCode,
      ).toBe(200);
      const last = await solo.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${o3.id}`,
        headers: a3,
        payload: { role: 'member' },
      });
      expect(last.statusCode).toBe(403); // own role
    } finally {
      await solo.close();
    }
  });

  it('changing your own password needs the current one and ends your other sessions', async () => {
    const user = await t.user('member');
    const bearer = { authorization: await t.bearer(user) };
    const { cookie } = await t.login(user);
    const newPassword = 'a brand new passphrase';
    const noCurrent = await patch(user.id, { password: newPassword }, bearer);
    expect(noCurrent.statusCode).toBe(400);
    expect(noCurrent.json().error.fields).toEqual([
      { path: 'body.currentPassword', rule: 'must be your current password' },
    ]);
    const ok = await patch(user.id, { password: newPassword, currentPassword: TEST_PASSWORD }, bearer);
    expect(ok.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(401);
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: newPassword },
    });
    expect(login.statusCode).toBe(200);
  });

  it('changing your password in a browser session keeps that session and ends the others', async () => {
    const user = await t.user('member');
    const here = await t.login(user);
    const elsewhere = await t.login(user);
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: { cookie: here.cookie, 'x-csrf-token': here.csrf },
      payload: { password: 'another brand new one', currentPassword: TEST_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/me', headers: { cookie: here.cookie } })).statusCode).toBe(
      200,
    );
    expect(
      (await t.app.inject({ url: '/api/v1/me', headers: { cookie: elsewhere.cookie } })).statusCode,
    ).toBe(401);
  });

  it('a disabled user cannot sign in; re-enabling restores it', async () => {
    const user = await t.user('member');
    expect((await patch(user.id, { disabled: true })).json()).toMatchObject({ disabled: true });
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD },
    });
    expect(login.statusCode).toBe(403);
    expect(login.json().error.code).toBe('account_disabled');
    await patch(user.id, { disabled: false });
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD },
    });
    expect(again.statusCode).toBe(200);
  });
});
