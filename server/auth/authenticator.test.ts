import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedToken } from '../../sdk/wire.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { engines } from '../../test/support/testDb.js';
import { newApiToken } from './secrets.js';
import { TokenCache } from './tokenCache.js';

// The Authenticator keeps tokens it has just accepted in memory for a second (tokenCache.ts).
// These tests pin down that the cache never lets a token through that the store would refuse,
// except for changes made behind this process's back, which it sees within that second.
describe.each(engines)('bearer tokens on %s', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(() => t.close());

  const me = (authorization: string) => t.app.inject({ url: '/api/v1/me', headers: { authorization } });

  it('a token in use is refused on the request right after it is revoked', async () => {
    const user = await t.user('member');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: await t.bearer(user) },
      payload: { name: 'ci' },
    });
    const created = res.json() as CreatedToken;
    const bearer = `Bearer ${created.token}`;
    expect((await me(bearer)).statusCode).toBe(200);
    expect((await me(bearer)).statusCode).toBe(200);

    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${created.id}`,
      headers: { authorization: bearer },
    });
    expect(revoke.statusCode).toBe(204);
    const after = await me(bearer);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toBe('This API token is not valid or was revoked.');
  });

  it('a token in use is refused the moment it expires', async () => {
    const user = await t.user('member');
    const { token, prefix, hash } = newApiToken();
    const expiresAt = new Date(t.clock.now().getTime() + 500);
    await t.services.tokens.create({ userId: user.id, name: 'short', tokenHash: hash, prefix, expiresAt });
    expect((await me(`Bearer ${token}`)).statusCode).toBe(200);

    // Still well inside the cache's second, but past the token's own end.
    t.clock.advance(500);
    const after = await me(`Bearer ${token}`);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toBe('This API token has expired.');
  });

  it("a disabled user's token is refused on the next request", async () => {
    const admin = await t.user('admin');
    const user = await t.user('member');
    const bearer = await t.bearer(user);
    expect((await me(bearer)).statusCode).toBe(200);

    const disable = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: { authorization: await t.bearer(admin) },
      payload: { disabled: true },
    });
    expect(disable.statusCode).toBe(200);
    const after = await me(bearer);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toBe('This account is disabled.');
  });

  it('a new role applies to the next request of a token in use', async () => {
    const owner = await t.user('owner');
    const admin = await t.user('admin');
    const bearer = await t.bearer(admin);
    expect(
      (await t.app.inject({ url: '/api/v1/users', headers: { authorization: bearer } })).statusCode,
    ).toBe(200);

    const demote = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${admin.id}`,
      headers: { authorization: await t.bearer(owner) },
      payload: { role: 'member' },
    });
    expect(demote.statusCode).toBe(200);
    expect(
      (await t.app.inject({ url: '/api/v1/users', headers: { authorization: bearer } })).statusCode,
    ).toBe(403);
    expect((await me(bearer)).json().user.role).toBe('member');
  });

  it('a revocation made by another replica is seen within a second', async () => {
    const user = await t.user('member');
    const bearer = await t.bearer(user);
    expect((await me(bearer)).statusCode).toBe(200);

    // Straight to the database, as another replica would: this process's stores never hear of it.
    await t.services.db.kysely
      .updateTable('api_tokens')
      .set({ revoked_at: t.clock.now().toISOString() })
      .where('user_id', '=', user.id)
      .execute();
    expect((await me(bearer)).statusCode).toBe(200);
    t.clock.advance(1_000);
    expect((await me(bearer)).statusCode).toBe(401);
  });
});

describe('TokenCache', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const entry = () => ({
    row: {
      id: 't1',
      user_id: 'u1',
      name: 'ci',
      token_hash: 'h',
      prefix: 'rc_abcde',
      created_at: now.toISOString(),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    },
    user: {
      id: 'u1',
      email: 'u1@example.test',
      name: null,
      role: 'member',
      password_hash: null,
      password_must_change: 0,
      oidc_issuer: null,
      oidc_subject: null,
      disabled_at: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      last_login_at: null,
    },
    expiresAtMs: null,
  });

  it('does not keep rows read while a revocation landed', () => {
    let version = 0;
    const cache = new TokenCache({ ttlMs: 1_000, maxEntries: 10, accessVersion: () => version });
    const readUnder = cache.version();
    version += 1;
    cache.set('h', entry(), readUnder, now);
    expect(cache.get('h', now)).toBeUndefined();
  });

  it('forgets entries past the TTL, after an access change, or when the clock steps back', () => {
    let version = 0;
    const cache = new TokenCache({ ttlMs: 1_000, maxEntries: 10, accessVersion: () => version });
    const at = (ms: number) => new Date(now.getTime() + ms);
    cache.set('h', entry(), cache.version(), now);
    expect(cache.get('h', at(999))).toBeDefined();
    expect(cache.get('h', at(1_000))).toBeUndefined();

    cache.set('h', entry(), cache.version(), now);
    expect(cache.get('h', at(-1))).toBeUndefined();

    cache.set('h', entry(), cache.version(), now);
    version += 1;
    expect(cache.get('h', now)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = new TokenCache({ ttlMs: 1_000, maxEntries: 2, accessVersion: () => 0 });
    for (const hash of ['a', 'b', 'c']) cache.set(hash, entry(), 0, now);
    expect(cache.get('a', now)).toBeUndefined();
    expect(cache.get('b', now)).toBeDefined();
    expect(cache.get('c', now)).toBeDefined();
  });
});
