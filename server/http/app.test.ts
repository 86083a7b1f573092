import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_PASSWORD, type TestApp } from '../../test/support/testApp.js';
import { Readiness } from '../readiness.js';

describe('HTTP plumbing', () => {
  let t: TestApp;
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    t = await createTestApp('sqlite', { flags: { 'log.level': 'debug' }, appOptions: { logStream: sink } });
  });
  afterAll(() => t.close());

  it('serves an OpenAPI 3.1 document in which every operation has a summary and responses', async () => {
    const res = await t.app.inject({ url: '/api/v1/openapi.json' });
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { summary?: string; responses?: object }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, o]) =>
      Object.entries(o).map(([m, op]) => ({ id: `${m} ${p}`, op })),
    );
    expect(ops.length).toBeGreaterThan(15);
    for (const { id, op } of ops) {
      expect(op.summary, id).toBeTruthy();
      expect(Object.keys(op.responses ?? {}), id).not.toHaveLength(0);
    }
    const login = doc.paths['/api/v1/auth/login']?.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { required: string[] } } } };
    };
    expect(login.requestBody.content['application/json'].schema.required).toEqual(['email', 'password']);
  });

  it('echoes a safe X-Request-Id and makes one up otherwise', async () => {
    const given = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const hostile = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'a\nb' } });
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes a latency histogram by route pattern and status, and process metrics', async () => {
    await t.app.inject({ url: '/api/v1/users/some-id' });
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toContain(
      'rc_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/users/:id",status_code="401"}',
    );
    expect(res.body).not.toContain('some-id');
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });

  it('readyz answers 503 naming what startup has left, then 200 while the database is reachable', async () => {
    t.services.readiness = new Readiness();
    const before = logLines.length;
    const early = await t.app.inject({ url: '/readyz' });
    expect(early.statusCode).toBe(503);
    expect(early.json()).toEqual({
      error: {
        code: 'not_ready',
        message:
          "The server is still starting: opening the store and running its migrations; creating the first administrator; reconciling the workspaces' boxes for the first time.",
      },
    });
    t.services.readiness.mark('store');
    t.services.readiness.mark('bootstrap');
    t.services.readiness.failed('reconcile', 'the Docker daemon does not answer');
    expect((await t.app.inject({ url: '/readyz' })).json().error.message).toBe(
      "The server is still starting: reconciling the workspaces' boxes for the first time (last attempt failed: the Docker daemon does not answer).",
    );
    // A load balancer polls this every second: a 503 is an answer, not a failed request to log.
    const logged = logLines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
    t.services.readiness.mark('reconcile');
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    // Healthz is liveness only: it never waited for any of this.
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('keeps passwords, tokens and cookies out of the logs', async () => {
    const user = await t.user('member');
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD },
    });
    const cookie = login.cookies.find((c) => c.name === 'rc_session')?.value as string;
    const bearer = await t.bearer(user);
    await t.app.inject({
      url: '/api/v1/me',
      headers: { authorization: bearer, cookie: `rc_session=${cookie}` },
    });
    const logs = logLines.join('');
    expect(logs).toContain('/api/v1/me');
    for (const secret of [TEST_PASSWORD, cookie, bearer.slice(7)]) expect(logs).not.toContain(secret);
  });
});
