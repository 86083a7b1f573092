// Bad input of every kind the API can meet. Each case gets a precise status and the error
// envelope, naming the field and the rule where there is one; nothing may produce a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../server/store/userStore.js';
import { createTestApp, type TestApp } from './support/testApp.js';
import { engines } from './support/testDb.js';

type Injected = Awaited<ReturnType<TestApp['app']['inject']>>;

function expectEnvelope(res: Injected, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as {
    error: { code: string; message: string; fields?: { path: string; rule: string }[] };
  };
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(5);
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

describe.each(engines)('bad input on %s', (engine) => {
  let t: TestApp;
  let admin: UserRow;
  let auth: { authorization: string };

  beforeAll(async () => {
    t = await createTestApp(engine, { flags: { 'server.bodyLimitBytes': 64 * 1024 } });
    admin = await t.user('admin');
    auth = { authorization: await t.bearer(admin) };
  });
  afterAll(() => t.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload: payload as string });

  it('malformed JSON → 400 malformed_json', async () => {
    const res = await post('/api/v1/users', '{"email": "a@b.c",', { 'content-type': 'application/json' });
    expectEnvelope(res, 400, 'malformed_json');
  });

  it('an empty JSON body → 400', async () => {
    const res = await post('/api/v1/users', '', { 'content-type': 'application/json' });
    expectEnvelope(res, 400);
  });

  it('a body that is not JSON → 415', async () => {
    const res = await post('/api/v1/users', 'email=a', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expectEnvelope(res, 415, 'unsupported_media_type');
  });

  it('wrong types name the field and the rule', async () => {
    const err = expectEnvelope(
      await post('/api/v1/users', { email: 42, role: 'member' }),
      400,
      'validation_failed',
    );
    expect(err.fields).toContainEqual({ path: 'body.email', rule: 'must be a string' });
    const tok = expectEnvelope(await post('/api/v1/tokens', { name: 'x', expiresInDays: '10' }), 400);
    expect(tok.fields?.[0]?.path).toBe('body.expiresInDays');
  });

  it('missing required fields say "is required"', async () => {
    const err = expectEnvelope(await post('/api/v1/teams', {}), 400, 'validation_failed');
    expect(err.fields).toContainEqual({ path: 'body.name', rule: 'is required' });
  });

  it('unknown fields are rejected, not ignored', async () => {
    const err = expectEnvelope(await post('/api/v1/users', { email: 'u1@example.test', isAdmin: true }), 400);
    expect(err.fields).toContainEqual({ path: 'body.isAdmin', rule: 'is not a known field' });
    const q = expectEnvelope(await t.app.inject({ url: '/api/v1/audit?colour=red', headers: auth }), 400);
    expect(q.fields?.[0]?.path).toBe('querystring.colour');
  });

  it('a body over the limit → 413', async () => {
    const res = await post('/api/v1/teams', { name: 'big', description: 'x'.repeat(70 * 1024) });
    expectEnvelope(res, 413, 'payload_too_large');
  });

  it('overlong strings name the limit', async () => {
    const err = expectEnvelope(await post('/api/v1/teams', { name: 'n'.repeat(101) }), 400);
    expect(err.fields).toContainEqual({ path: 'body.name', rule: 'must be at most 100 characters' });
    expectEnvelope(await post('/api/v1/tokens', { name: 'n'.repeat(101) }), 400);
    expectEnvelope(await post('/api/v1/users', { email: `${'a'.repeat(250)}@example.test` }), 400);
  });

  it('invalid emails are refused', async () => {
    for (const email of ['not-an-email', 'a@', '@b.c', 'a b@c.d', '']) {
      const err = expectEnvelope(await post('/api/v1/users', { email }), 400);
      expect(err.fields?.[0]?.path).toBe('body.email');
    }
  });

  it('weak passwords are refused with the minimum length', async () => {
    const err = expectEnvelope(
      await post('/api/v1/users', { email: 'weak@example.test', password: 'short' }),
      400,
    );
    expect(err.fields).toContainEqual({ path: 'body.password', rule: 'must be at least 12 characters' });
  });

  it('invalid enum values list the valid ones', async () => {
    const err = expectEnvelope(await post('/api/v1/users', { email: 'enum@example.test', role: 'god' }), 400);
    expect(err.fields?.[0]?.rule).toBe('must be one of "owner", "admin", "member", "viewer"');
  });

  it('a duplicate email → 409 (case-insensitively)', async () => {
    expect((await post('/api/v1/users', { email: 'dup@example.test' })).statusCode).toBe(201);
    expectEnvelope(await post('/api/v1/users', { email: 'DUP@example.test' }), 409, 'email_taken');
  });

  it('a duplicate team name → 409', async () => {
    expect((await post('/api/v1/teams', { name: 'platform' })).statusCode).toBe(201);
    expectEnvelope(await post('/api/v1/teams', { name: 'platform' }), 409, 'team_name_taken');
  });

  it('unknown ids → 404, unknown routes → 404', async () => {
    for (const url of ['/api/v1/users/nope', '/api/v1/teams/nope']) {
      expectEnvelope(await t.app.inject({ url, headers: auth }), 404, 'not_found');
    }
    expectEnvelope(await t.app.inject({ method: 'DELETE', url: '/api/v1/tokens/nope', headers: auth }), 404);
    expectEnvelope(
      await t.app.inject({ url: '/api/v1/no-such-thing', headers: auth }),
      404,
      'route_not_found',
    );
    expectEnvelope(
      await t.app.inject({
        method: 'PUT',
        url: '/api/v1/teams/nope/members/nope',
        headers: auth,
        payload: {},
      }),
      404,
    );
  });

  it('no credentials → 401; a malformed Authorization header → 401', async () => {
    expectEnvelope(await t.app.inject({ url: '/api/v1/me' }), 401, 'unauthorized');
    expectEnvelope(await t.app.inject({ url: '/api/v1/me', headers: { authorization: 'Basic abc' } }), 401);
    expectEnvelope(
      await t.app.inject({ url: '/api/v1/me', headers: { authorization: 'Bearer rc_unknown_token_value' } }),
      401,
    );
    expectEnvelope(await t.app.inject({ url: '/api/v1/me', headers: { cookie: 'rc_session=forged' } }), 401);
  });

  it('an expired token → 401', async () => {
    const res = await post('/api/v1/tokens', { name: 'short', expiresInDays: 1 });
    const { token } = res.json() as { token: string };
    expect(
      (await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode,
    ).toBe(200);
    t.clock.advance(86_400_000 + 1000);
    const err = expectEnvelope(
      await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } }),
      401,
    );
    expect(err.message).toMatch(/expired/);
  });

  it('a revoked token → 401', async () => {
    const { token, id } = (await post('/api/v1/tokens', { name: 'revoke me' })).json() as {
      token: string;
      id: string;
    };
    const bearer = { authorization: `Bearer ${token}` };
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: bearer })).statusCode,
    ).toBe(204);
    expectEnvelope(await t.app.inject({ url: '/api/v1/me', headers: bearer }), 401);
  });

  it("a disabled user's token and session stop working", async () => {
    const user = await t.user('member');
    const bearer = { authorization: await t.bearer(user) };
    const { cookie } = await t.login(user);
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: auth,
      payload: { disabled: true },
    });
    expect(res.statusCode).toBe(200);
    expectEnvelope(await t.app.inject({ url: '/api/v1/me', headers: bearer }), 401);
    expectEnvelope(await t.app.inject({ url: '/api/v1/me', headers: { cookie } }), 401);
  });

  it('a cookie-authenticated mutation without or with a wrong CSRF token → 403', async () => {
    const { cookie, csrf } = await t.login(admin);
    expectEnvelope(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/teams',
        headers: { cookie },
        payload: { name: 'c1' },
      }),
      403,
      'csrf_failed',
    );
    expectEnvelope(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/teams',
        headers: { cookie, 'x-csrf-token': 'wrong' },
        payload: { name: 'c1' },
      }),
      403,
      'csrf_failed',
    );
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/teams',
      headers: { cookie, 'x-csrf-token': csrf },
      payload: { name: 'c1' },
    });
    expect(ok.statusCode).toBe(201);
  });

  it('SQL-looking strings are stored verbatim', async () => {
    const name = 'Robert\'); DROP TABLE users;-- %_\\ "quoted" ☃';
    const res = await post('/api/v1/users', { email: 'bobby@example.test', name });
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as { id: string }).id;
    expect((await t.app.inject({ url: `/api/v1/users/${id}`, headers: auth })).json()).toMatchObject({
      name,
    });
    const team = await post('/api/v1/teams', {
      name: 'drop tables',
      description: "x' OR '1'='1'; DELETE FROM teams; --",
    });
    expect(team.statusCode, team.body).toBe(201);
    expect(team.json()).toMatchObject({ description: "x' OR '1'='1'; DELETE FROM teams; --" });
    expect((await t.app.inject({ url: '/api/v1/users', headers: auth })).statusCode).toBe(200);
    const audit = await t.app.inject({
      url: `/api/v1/audit?actor=${encodeURIComponent("' OR 1=1 --")}`,
      headers: auth,
    });
    expect(audit.json()).toEqual({ items: [], next: null });
  });

  it('NUL characters are refused with the field named (PostgreSQL text cannot hold them)', async () => {
    const err = expectEnvelope(await post('/api/v1/tokens', { name: 'a\u0000b' }), 400, 'validation_failed');
    expect(err.fields).toEqual([{ path: 'body.name', rule: 'must not contain NUL characters' }]);
    const q = expectEnvelope(await t.app.inject({ url: '/api/v1/audit?actor=a%00b', headers: auth }), 400);
    expect(q.fields?.[0]?.path).toBe('querystring.actor');
  });

  it('JSON nested 5,000 deep → 400 naming the rule on every route that takes a body, signed in or not', async () => {
    const deep = `${'{"a":['.repeat(2500)}1${']}'.repeat(2500)}`;
    const doc = (await t.app.inject({ url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const { cookie, csrf } = await t.login(admin);
    const callers: [string, Record<string, string>][] = [
      ['nobody', {}],
      ['a token', auth],
      ['a session', { cookie, 'x-csrf-token': csrf }],
    ];
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        // GET and DELETE take no body; PUT …/files/* takes the file's raw bytes, never parsed.
        if (method === 'get' || method === 'delete' || path.endsWith('/files/{*}')) continue;
        const url = path.replace(/\{[^}]+\}/g, 'x');
        for (const [who, headers] of callers) {
          const res = await t.app.inject({
            method: method.toUpperCase() as 'POST',
            url,
            headers: { ...headers, 'content-type': 'application/json' },
            payload: deep,
          });
          const err = expectEnvelope(res, 400, 'validation_failed');
          expect(err.fields?.[0]?.rule, `${method} ${url} as ${who}`).toBe(
            'must not be nested more than 64 levels deep',
          );
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('a multipart upload without a boundary → 400 malformed_upload, before anything else', async () => {
    for (const headers of [auth, {}]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/workspaces/x/files/dir',
        headers: { ...headers, 'content-type': 'multipart/form-data' },
        payload: '--x\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n\r\nA\r\n--x--\r\n',
      });
      expect(expectEnvelope(res, 400, 'malformed_upload').message).toMatch(/boundary/);
    }
  });

  it('audit filters validate their input', async () => {
    for (const qs of ['limit=0', 'limit=501', 'limit=abc', 'from=yesterday', 'cursor=abc']) {
      expectEnvelope(
        await t.app.inject({ url: `/api/v1/audit?${qs}`, headers: auth }),
        400,
        'validation_failed',
      );
    }
  });

  it('PATCH with nothing to change → 400', async () => {
    const err = expectEnvelope(
      await t.app.inject({ method: 'PATCH', url: `/api/v1/users/${admin.id}`, headers: auth, payload: {} }),
      400,
    );
    expect(err.message).toMatch(/at least one field/);
  });

  it('no mutating route answers 500 to garbage', async () => {
    const doc = (await t.app.inject({ url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const garbage: unknown[] = [
      null,
      [],
      'text',
      12,
      { '': '' },
      { email: { $gt: '' } },
      { name: '\u0000' },
      [{ a: 1 }],
    ];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (method === 'get') continue;
        const url = path.replace(/\{[^}]+\}/g, 'x');
        for (const payload of garbage) {
          const res = await t.app.inject({
            method: method.toUpperCase() as 'POST',
            url,
            headers: { ...auth, 'content-type': 'application/json' },
            payload: JSON.stringify(payload),
          });
          expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)} → ${res.body}`).toBeLessThan(
            500,
          );
          if (res.statusCode !== 204) expect(() => res.json(), `${method} ${url}`).not.toThrow();
        }
      }
    }
  });
});
