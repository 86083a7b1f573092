// OIDC sign-in end to end: a real provider (oidc-provider) and the real control plane, both on
// loopback, driven like a browser that follows redirects and keeps cookies.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, Me } from '../../../sdk/wire.js';
import {
  oidcTestFlags,
  startOidcProvider,
  type TestAccount,
  type TestOidcProvider,
} from '../../../test/support/oidcProvider.js';
import { createTestApp, TEST_PASSWORD, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import { safeReturnTo } from './oidcRoutes.js';

/** A browser, as far as redirects and cookies go (cookies by name: both servers are 127.0.0.1). */
class Browser {
  readonly cookies = new Map<string, string>();

  /** Follow redirects from `url` until one leaves the sign-in routes; returns where it lands. */
  async signIn(url: string, base: string): Promise<URL> {
    let current = new URL(url);
    for (let hop = 0; hop < 20; hop++) {
      const res = await fetch(current, { redirect: 'manual', headers: { cookie: this.header() } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = (pair as string).indexOf('=');
        const name = (pair as string).slice(0, eq);
        const value = (pair as string).slice(eq + 1);
        if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        throw new Error(`sign-in stopped at ${current} with ${res.status}: ${await res.text()}`);
      }
      const next = new URL(location, current);
      if (next.origin === base && !next.pathname.startsWith('/api/v1/auth/oidc/')) return next;
      current = next;
    }
    throw new Error('too many redirects');
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

describe.each(engines)('OIDC sign-in on %s', (engine) => {
  let idp: TestOidcProvider;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    idp = await startOidcProvider();
    t = await createTestApp(engine, { flags: oidcTestFlags(idp) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    t.services.publicUrl = base;
    idp.setRedirectUri(`${base}/api/v1/auth/oidc/callback`);
    await t.services.oidc?.discover();
  });
  afterAll(async () => {
    await t.close();
    await idp.close();
  });

  async function signIn(subject: string, account: TestAccount, returnTo = '/after') {
    idp.signInAs(subject, account);
    const browser = new Browser();
    const landed = await browser.signIn(
      `${base}/api/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`,
      base,
    );
    const me = await fetch(`${base}/api/v1/me`, { headers: { cookie: browser.header() } });
    return {
      browser,
      landed,
      me: me.status === 200 ? ((await me.json()) as Me) : undefined,
      status: me.status,
    };
  }

  async function lastLogin() {
    const admin = await t.user('admin');
    const res = await t.app.inject({
      url: '/api/v1/audit?action=auth.login&limit=1',
      headers: { authorization: await t.bearer(admin) },
    });
    return (res.json() as AuditPage).items[0];
  }

  it('creates a new user just in time as a member, with a working session', async () => {
    const { landed, me } = await signIn(`new-${engine}`, {
      email: `Jit.${engine}@Example.test`,
      emailVerified: true,
      name: 'Jit User',
    });
    expect(landed.pathname).toBe('/after');
    expect(me).toMatchObject({
      authMethod: 'session',
      user: { email: `jit.${engine}@example.test`, role: 'member', name: 'Jit User', authMethods: ['oidc'] },
    });
    expect(me?.csrfToken).toBeTruthy();
    expect(await lastLogin()).toMatchObject({
      result: 'success',
      actorEmail: `jit.${engine}@example.test`,
      detail: { method: 'oidc' },
    });
  });

  it('signs the same person in again as the same user', async () => {
    const first = await signIn(`again-${engine}`, { email: `again.${engine}@example.test` });
    const second = await signIn(`again-${engine}`, { email: `again.${engine}@example.test` });
    expect(second.me?.user.id).toBe(first.me?.user.id);
  });

  it('links the identity to an existing password user with the same verified email', async () => {
    const existing = await t.user('admin', `linked.${engine}@example.test`);
    const { me } = await signIn(`linked-${engine}`, {
      email: `linked.${engine}@example.test`,
      emailVerified: true,
    });
    expect(me?.user).toMatchObject({ id: existing.id, role: 'admin', authMethods: ['password', 'oidc'] });
    const pw = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: existing.email, password: TEST_PASSWORD },
    });
    expect(pw.statusCode).toBe(200);
  });

  it('refuses an email domain outside the allowlist, creating nobody', async () => {
    const before = (await t.services.users.list()).length;
    const { landed, status } = await signIn(`outsider-${engine}`, {
      email: `someone.${engine}@elsewhere.example`,
    });
    expect(landed.pathname).toBe('/');
    expect(landed.searchParams.get('error')).toBe('oidc_domain_not_allowed');
    expect(status).toBe(401);
    expect((await t.services.users.list()).length).toBe(before);
    expect(await lastLogin()).toMatchObject({
      result: 'denied',
      detail: { method: 'oidc', reason: 'oidc_domain_not_allowed' },
    });
  });

  it('refuses an unverified email that would link to an existing account', async () => {
    await t.user('member', `victim.${engine}@example.test`);
    const { landed } = await signIn(`attacker-${engine}`, {
      email: `victim.${engine}@example.test`,
      emailVerified: false,
    });
    expect(landed.searchParams.get('error')).toBe('oidc_email_unverified');
  });

  it('refuses a disabled user', async () => {
    const { me } = await signIn(`disabled-${engine}`, { email: `disabled.${engine}@example.test` });
    await t.services.users.update(me?.user.id as string, { disabled: true });
    const again = await signIn(`disabled-${engine}`, { email: `disabled.${engine}@example.test` });
    expect(again.landed.searchParams.get('error')).toBe('account_disabled');
    expect(again.status).toBe(401);
  });

  it('refuses a callback whose state cookie is missing or tampered with', async () => {
    idp.signInAs(`tamper-${engine}`, { email: `tamper.${engine}@example.test` });
    const start = await fetch(`${base}/api/v1/auth/oidc/login`, { redirect: 'manual' });
    const cookie = start.headers.getSetCookie().find((c) => c.startsWith('rc_oidc=')) as string;
    const value = decodeURIComponent(cookie.slice('rc_oidc='.length, cookie.indexOf(';')));
    const forged = value.replace(/"returnTo":"[^"]*"/, '"returnTo":"https://evil.example/"');
    expect(forged).not.toBe(value);
    for (const jar of [undefined, `rc_oidc=${encodeURIComponent(forged)}`]) {
      const browser = new Browser();
      if (jar) browser.cookies.set('rc_oidc', jar.slice('rc_oidc='.length));
      // Walk the provider part with the provider's cookies, then present the bad state cookie.
      const landed = await browser.signIn(start.headers.get('location') as string, base);
      expect(landed.origin).toBe(base);
      expect(landed.searchParams.get('error')).toBe('oidc_state_mismatch');
    }
  });

  it('reports a provider error to the user instead of failing', async () => {
    const res = await fetch(`${base}/api/v1/auth/oidc/callback?error=access_denied&state=x`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/?error=oidc_provider_error');
  });

  it('never redirects off-site after sign-in', async () => {
    const { landed } = await signIn(
      `redirect-${engine}`,
      { email: `redirect.${engine}@example.test` },
      '//evil.example/x',
    );
    expect(landed.origin).toBe(base);
    expect(landed.pathname).toBe('/');
    for (const bad of [
      '//evil.example',
      'https://evil.example',
      '/\\evil.example',
      'relative',
      '/a\r\nSet-Cookie: x=1',
      '',
      undefined,
    ]) {
      expect(safeReturnTo(bad)).toBe('/');
    }
    expect(safeReturnTo('/tasks/1?tab=log')).toBe('/tasks/1?tab=log');
  });

  it('advertises the provider to the sign-in page', async () => {
    const res = await t.app.inject({ url: '/api/v1/auth/providers' });
    expect(res.json()).toEqual({ password: true, oidc: { enabled: true, label: 'Sign in with TestID' } });
  });
});

describe('OIDC when not configured', () => {
  it('answers 404 oidc_not_configured', async () => {
    const t = await createTestApp('sqlite');
    try {
      for (const url of ['/api/v1/auth/oidc/login', '/api/v1/auth/oidc/callback?code=x&state=y']) {
        const res = await t.app.inject({ url });
        expect(res.statusCode).toBe(404);
        expect(res.json().error.code).toBe('oidc_not_configured');
      }
    } finally {
      await t.close();
    }
  });
});
