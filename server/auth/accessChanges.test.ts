// Two replicas on one PostgreSQL: an access change made through one applies on the other at once,
// not after the token cache's TTL. The clocks never move here, so a TTL cannot be what refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedToken, Me } from '../../sdk/wire.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { ACCESS_CHANNEL } from './accessChanges.js';

/** Polls `probe` until it gives `status`, for at most a second of real time; returns the last status. */
async function statusWithinASecond(probe: () => Promise<number>, status: number): Promise<number> {
  const end = performance.now() + 1_000;
  let last = await probe();
  while (last !== status && performance.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
    last = await probe();
  }
  return last;
}

describe('access changes across two replicas on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp('postgres');
    b = await createTestApp('postgres', { sameStoreAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const me = (t: TestApp, headers: Record<string, string>) => t.app.inject({ url: '/api/v1/me', headers });

  /** A token made through the API of `t`, used once on each replica so both have it cached. */
  async function cachedToken(t: TestApp, owner: Awaited<ReturnType<TestApp['user']>>): Promise<string> {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: await t.bearer(owner) },
      payload: { name: 'ci' },
    });
    const bearer = `Bearer ${(res.json() as CreatedToken).token}`;
    for (const replica of [a, b]) expect((await me(replica, { authorization: bearer })).statusCode).toBe(200);
    return bearer;
  }

  it('a token revoked through A is refused on B within the same second', async () => {
    const user = await a.user('member');
    const bearer = await cachedToken(a, user);
    const tokens = await a.services.tokens.listForUser(user.id);
    const id = tokens.find((tk) => tk.name === 'ci')?.id as string;

    const revoke = await a.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${id}`,
      headers: { authorization: bearer },
    });
    expect(revoke.statusCode).toBe(204);
    expect(
      await statusWithinASecond(async () => (await me(b, { authorization: bearer })).statusCode, 401),
    ).toBe(401);
  });

  it('a user disabled on B has their session and their cached token refused on A', async () => {
    const admin = await b.user('admin');
    const user = await a.user('member');
    const session = await a.login(user);
    const bearer = await cachedToken(a, user);
    expect((await me(a, { cookie: session.cookie })).statusCode).toBe(200);

    const disable = await b.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: { authorization: await b.bearer(admin) },
      payload: { disabled: true },
    });
    expect(disable.statusCode).toBe(200);
    expect(
      await statusWithinASecond(async () => (await me(a, { cookie: session.cookie })).statusCode, 401),
    ).toBe(401);
    expect(
      await statusWithinASecond(async () => (await me(a, { authorization: bearer })).statusCode, 401),
    ).toBe(401);
  });

  it('a role changed on B is the role A sees on the next requests', async () => {
    const owner = await b.user('owner');
    const user = await a.user('admin');
    const bearer = await cachedToken(a, user);
    const demote = await b.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: { authorization: await b.bearer(owner) },
      payload: { role: 'member' },
    });
    expect(demote.statusCode).toBe(200);
    const roleOnA = async () => ((await me(a, { authorization: bearer })).json() as Me).user.role;
    const end = performance.now() + 1_000;
    while ((await roleOnA()) !== 'member' && performance.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    expect(await roleOnA()).toBe('member');
  });

  it('an unreadable announcement makes a replica drop its whole cache', async () => {
    const user = await a.user('member');
    const bearer = await cachedToken(a, user);
    // Revoked behind every replica's back: only the cache still lets the token in.
    await b.services.db.kysely
      .updateTable('api_tokens')
      .set({ revoked_at: new Date().toISOString() })
      .where('user_id', '=', user.id)
      .execute();
    expect((await me(a, { authorization: bearer })).statusCode).toBe(200);
    await b.services.pubsub.publish(ACCESS_CHANNEL, 'not json');
    expect(
      await statusWithinASecond(async () => (await me(a, { authorization: bearer })).statusCode, 401),
    ).toBe(401);
  });
});
