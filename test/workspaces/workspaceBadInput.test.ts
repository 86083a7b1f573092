// Bad input on the workspace API: each gets a precise status and names the field and rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NeverStartingDriver } from '../../server/drivers/fakeDrivers.js';
import { createTestApp, type TestApp } from '../support/testApp.js';
import { engines } from '../support/testDb.js';

describe.each(engines)('workspace API bad input on %s', (engine) => {
  let t: TestApp;
  let auth: string;
  beforeAll(async () => {
    t = await createTestApp(engine, { services: { driver: new NeverStartingDriver() } });
    auth = await t.bearer(await t.user('member'));
  });
  afterAll(() => t.close());

  const call = (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: auth },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const fields = (res: Awaited<ReturnType<typeof call>>) => {
    expect(res.statusCode, res.body).toBe(400);
    return (res.json() as { error: { fields: { path: string; rule: string }[] } }).error.fields;
  };

  it('repository must be an http(s) URL without credentials', async () => {
    for (const repository of ['git@github.com:a/b.git', 'ftp://x.test/a', 'not a url', '', 'file:///etc']) {
      expect(fields(await call('POST', '/api/v1/workspaces', { repository }))[0]?.path).toBe(
        'body.repository',
      );
    }
    const cred = fields(
      await call('POST', '/api/v1/workspaces', { repository: 'https://user:pw@github.com/a/b' }),
    );
    expect(cred[0]?.rule).toMatch(/credentials/);
    expect(fields(await call('POST', '/api/v1/workspaces', {}))[0]?.path).toBe('body.repository');
  });

  it('unknown fields and out-of-range resources are refused', async () => {
    const repository = 'https://github.com/a/b';
    expect(fields(await call('POST', '/api/v1/workspaces', { repository, image: 'x' }))[0]?.rule).toMatch(
      /not a known field/,
    );
    expect(
      fields(await call('POST', '/api/v1/workspaces', { repository, resources: { cpu: -1 } }))[0]?.path,
    ).toBe('body.resources.cpu');
    expect(
      fields(await call('POST', '/api/v1/workspaces', { repository, resources: { memoryMb: 10 } }))[0]?.path,
    ).toBe('body.resources.memoryMb');
    expect(
      fields(await call('POST', '/api/v1/workspaces', { repository, resources: { pids: 1.5 } }))[0]?.path,
    ).toBe('body.resources.pids');
    const over = await call('POST', '/api/v1/workspaces', {
      repository,
      start: false,
      resources: { cpu: 32 },
    });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toMatch(/cpu may be at most/);
  });

  it('query values are checked', async () => {
    expect(fields(await call('GET', '/api/v1/workspaces?status=sleeping'))[0]?.path).toBe(
      'querystring.status',
    );
    expect(fields(await call('GET', '/api/v1/workspaces?bogus=1'))[0]?.path).toMatch(/querystring/);
    const ws = (
      await call('POST', '/api/v1/workspaces', { repository: 'https://github.com/a/q', start: false })
    ).json();
    expect(fields(await call('DELETE', `/api/v1/workspaces/${ws.id}?keepVolume=yes`))[0]?.path).toBe(
      'querystring.keepVolume',
    );
  });

  it('file paths with "..", NUL or a leading slash are refused before reaching any workspace', async () => {
    const ws = (
      await call('POST', '/api/v1/workspaces', { repository: 'https://github.com/a/p', start: false })
    ).json();
    for (const p of ['a/..%2F..%2Fetc', '..%2F', '%2Fetc%2Fpasswd', 'x%00y']) {
      expect(fields(await call('GET', `/api/v1/workspaces/${ws.id}/files/${p}`))[0]?.path).toBe('params.*');
    }
    expect(
      fields(await call('POST', `/api/v1/workspaces/${ws.id}/files/a`, { op: 'rename', to: '../b' }))[0]
        ?.path,
    ).toBe('body.to');
    expect(
      fields(await call('POST', `/api/v1/workspaces/${ws.id}/files/a`, { op: 'chmod' }))[0]?.path,
    ).toMatch(/body/);
  });

  it('unknown workspace ids are 404 and a workspace that is not running is 409', async () => {
    expect((await call('GET', '/api/v1/workspaces/nope')).statusCode).toBe(404);
    expect((await call('POST', '/api/v1/workspaces/nope/start')).statusCode).toBe(404);
    const ws = (
      await call('POST', '/api/v1/workspaces', { repository: 'https://github.com/a/r', start: false })
    ).json();
    const res = await call('GET', `/api/v1/workspaces/${ws.id}/files/`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('workspace_not_running');
  });
});
