// The sign-in throttle counts failures in the store: the same limits on both engines, and on
// PostgreSQL one count for every replica.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { email, MINUTE, useStore } from '../../test/support/storeTestKit.js';
import { createTestApp, TEST_PASSWORD, type TestApp } from '../../test/support/testApp.js';
import { engines } from '../../test/support/testDb.js';
import { LoginFailureStore } from '../store/loginFailureStore.js';
import { LoginThrottle } from './loginThrottle.js';

const LIMITS = { maxFailuresPerAccount: 3, maxFailuresPerIp: 5, window: 15 * 60 };

describe.each(engines)('LoginThrottle on %s', (engine) => {
  const ctx = useStore(engine);
  const throttle = () => new LoginThrottle(LIMITS, new LoginFailureStore(ctx.db), ctx.clock);
  const rows = async () =>
    Number(
      (await sql<{ n: number | string }>`select count(*) as n from login_failures`.execute(ctx.db.kysely))
        .rows[0]?.n,
    );

  it('refuses an account after its limit until the oldest failure that counts leaves the window', async () => {
    const t = throttle();
    const account = email('guessed');
    for (let i = 0; i < 3; i++) {
      expect(await t.retryAfter(account, '10.0.0.1')).toBe(0);
      await t.recordFailure(account, `10.0.1.${i}`);
      ctx.clock.advance(MINUTE);
    }
    // The first failure was three minutes ago; it leaves the 15-minute window in twelve.
    expect(await t.retryAfter(account, '10.0.0.1')).toBe(12 * 60);
    expect(await t.retryAfter(account.toUpperCase(), '10.0.0.1')).toBe(12 * 60);
    ctx.clock.advance(12 * MINUTE);
    expect(await t.retryAfter(account, '10.0.0.1')).toBe(0);
  });

  it('refuses a client IP after its limit, whatever the account; success clears the account only', async () => {
    const t = throttle();
    const ip = '10.0.2.1';
    for (let i = 0; i < 5; i++) await t.recordFailure(email('spray'), ip);
    expect(await t.retryAfter(email('other'), ip)).toBeGreaterThan(0);

    const account = email('forgetful');
    for (let i = 0; i < 3; i++) await t.recordFailure(account, '10.0.2.2');
    expect(await t.retryAfter(account, '10.0.2.3')).toBeGreaterThan(0);
    await t.recordSuccess(account);
    expect(await t.retryAfter(account, '10.0.2.3')).toBe(0);
    expect(await t.retryAfter(email('other'), ip)).toBeGreaterThan(0);
  });

  it('prunes the failures that left the window and keeps the others', async () => {
    const t = throttle();
    await ctx.db.kysely.deleteFrom('login_failures').execute();
    await t.recordFailure(email('old'), '10.0.3.1');
    ctx.clock.advance(10 * MINUTE);
    await t.recordFailure(email('new'), '10.0.3.2');
    expect(await rows()).toBe(4);
    ctx.clock.advance(6 * MINUTE);
    expect(await t.prune()).toBe(2);
    expect(await rows()).toBe(2);
  });
});

describe('sign-in throttling across two replicas on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const flags = { 'auth.throttle.maxFailuresPerAccount': 3 };
    a = await createTestApp('postgres', { flags });
    b = await createTestApp('postgres', { flags, sameStoreAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const login = (t: TestApp, address: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: address, password } });

  it('failed sign-ins on A count on B', async () => {
    const user = await a.user('member');
    expect((await login(a, user.email, 'wrong password 1')).statusCode).toBe(401);
    expect((await login(a, user.email, 'wrong password 2')).statusCode).toBe(401);
    expect((await login(b, user.email, 'wrong password 3')).statusCode).toBe(401);
    const onB = await login(b, user.email, TEST_PASSWORD);
    expect(onB.statusCode).toBe(429);
    expect(Number(onB.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(a, user.email, TEST_PASSWORD)).statusCode).toBe(429);
  });
});
