// The shared API client against a real server on loopback: typed answers, the error envelope as
// an ApiError, validation that catches a server answering the wrong shape, and no Node-only
// import in the part the browser bundles.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { ApiClient } from './apiClient.js';
import { ApiError } from './apiError.js';
import { validateResponse } from './validateResponse.js';

describe('ApiClient', () => {
  let t: TestApp;
  let url: string;
  let adminToken: string;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    adminToken = (await t.bearer(await t.user('admin'))).slice('Bearer '.length);
  });
  afterAll(() => t.close());

  it('returns typed, validated answers', async () => {
    const client = new ApiClient({ baseUrl: url, token: adminToken, validate: validateResponse });
    const { items } = await client.users.list();
    expect(items.some((u) => u.role === 'admin')).toBe(true);
  });

  it("turns the server's error envelope into an ApiError with its status, code and fields", async () => {
    const client = new ApiClient({ baseUrl: url, token: adminToken, validate: validateResponse });
    const refused = await client.users
      .create({ email: 'not-an-email', name: 'x', role: 'member' } as never)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((refused as ApiError).fields.map((f) => f.path)).toContain('body.email');

    const anonymous = new ApiClient({ baseUrl: url });
    await expect(anonymous.users.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('says the server is unreachable when nothing listens', async () => {
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:1' });
    await expect(client.users.list()).rejects.toMatchObject({ status: 0 });
  });

  it('with a validator, an answer of the wrong shape fails naming the field; without one it is passed on', async () => {
    const lying: typeof fetch = async () =>
      new Response(JSON.stringify({ items: [{ id: 42 }] }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    const checked = new ApiClient({ baseUrl: url, fetch: lying, validate: validateResponse });
    await expect(checked.users.list()).rejects.toMatchObject({
      code: 'bad_response',
      message: expect.stringMatching(/unexpected shape \(UserList: items\.0\.id /),
    });
    const trusting = new ApiClient({ baseUrl: url, fetch: lying });
    expect(await trusting.users.list()).toEqual({ items: [{ id: 42 }] });
  });

  it('imports nothing Node-only outside nodeApiClient.ts (the browser bundles the rest)', () => {
    const dir = import.meta.dirname;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      if (file === 'nodeApiClient.ts') continue;
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/from '(node:|fs|path|stream|net|http)/);
    }
  });
});
