import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKSPACE_API_KEY_PLACEHOLDER } from '../../../sdk/agentProtocol.js';
import type { SecretInfo, SecretList } from '../../../sdk/secretWire.js';
import type { AuditPage, ErrorEnvelope } from '../../../sdk/wire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import { SecretStore } from '../../store/secretStore.js';

const KEY = 'sk-ant-api03-Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA-abcd';
const URL_KEY = '/api/v1/me/secrets/anthropic-api-key';

describe.each(engines)('secret routes on %s', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(() => t.close());

  it('saves the key encrypted, lists only its last four, deletes it, and audits without the value', async () => {
    const user = await t.user('member');
    const { cookie, csrf } = await t.login(user);
    const headers = { cookie, 'x-csrf-token': csrf };

    const saved = await t.app.inject({ method: 'PUT', url: URL_KEY, headers, payload: { value: KEY } });
    expect(saved.statusCode).toBe(200);
    expect(saved.json()).toEqual({ name: 'anthropic-api-key', last4: 'abcd', updatedAt: expect.any(String) });
    expect(saved.body).not.toContain(KEY);

    const list = await t.app.inject({ url: '/api/v1/me/secrets', headers });
    expect((list.json() as SecretList).items).toEqual([saved.json() as SecretInfo]);
    expect(list.body).not.toContain(KEY);

    const rows = await t.services.db.kysely.selectFrom('secrets').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(KEY.slice(8));
    // What the gateway will read back.
    const store = new SecretStore(t.services.db, t.clock, { settings: t.services.settings });
    expect(await store.get(user.id, 'anthropic-api-key')).toBe(KEY);

    // Someone else sees nothing of it.
    const other = await t.user('admin');
    const theirs = await t.app.inject({
      url: '/api/v1/me/secrets',
      headers: { authorization: await t.bearer(other) },
    });
    expect((theirs.json() as SecretList).items).toEqual([]);

    expect((await t.app.inject({ method: 'DELETE', url: URL_KEY, headers })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: URL_KEY, headers })).statusCode).toBe(204);
    expect((await t.app.inject({ url: '/api/v1/me/secrets', headers })).json()).toEqual({ items: [] });
    expect(await store.get(user.id, 'anthropic-api-key')).toBeUndefined();

    const admin = await t.user('admin');
    const audit = await t.app.inject({
      url: `/api/v1/audit?actor=${user.id}&action=secret.`,
      headers: { authorization: await t.bearer(admin) },
    });
    const entries = (audit.json() as AuditPage).items;
    expect(entries.map((e) => [e.action, e.result, e.targetId])).toEqual([
      ['secret.deleted', 'success', 'anthropic-api-key'],
      ['secret.deleted', 'success', 'anthropic-api-key'],
      ['secret.saved', 'success', 'anthropic-api-key'],
    ]);
    expect(entries.map((e) => e.detail?.existed)).toEqual([false, true, undefined]);
    expect(entries[2]?.detail).toMatchObject({ last4: 'abcd' });
    expect(audit.body).not.toContain(KEY);
  });

  it('refuses a viewer with 403 and stores nothing (viewers run no tasks for a key to pay for)', async () => {
    const viewer = await t.user('viewer');
    const auth = { authorization: await t.bearer(viewer) };
    const put = await t.app.inject({ method: 'PUT', url: URL_KEY, headers: auth, payload: { value: KEY } });
    expect(put.statusCode).toBe(403);
    expect((put.json() as ErrorEnvelope).error.code).toBe('forbidden');
    const store = new SecretStore(t.services.db, t.clock, { settings: t.services.settings });
    expect(await store.get(viewer.id, 'anthropic-api-key')).toBeUndefined();
  });

  it('replaces a saved key', async () => {
    const auth = { authorization: await t.bearer(await t.user('member')) };
    await t.app.inject({ method: 'PUT', url: URL_KEY, headers: auth, payload: { value: KEY } });
    const again = await t.app.inject({
      method: 'PUT',
      url: URL_KEY,
      headers: auth,
      payload: { value: 'sk-ant-api03-another-key-0000000000-wxyz' },
    });
    expect(again.json()).toMatchObject({ last4: 'wxyz' });
    expect((await t.app.inject({ url: '/api/v1/me/secrets', headers: auth })).json()).toMatchObject({
      items: [{ name: 'anthropic-api-key', last4: 'wxyz' }],
    });
  });

  it.each([
    ['a key of another vendor', { value: 'sk-proj-0000000000000000000000000000' }, 'starting with "sk-ant-"'],
    ['a short key', { value: 'sk-ant-short' }, 'at least 20 characters'],
    ['a long key', { value: `sk-ant-${'x'.repeat(294)}` }, 'at most 300 characters'],
    ['whitespace', { value: 'sk-ant-api03-0000000000 00000000' }, 'whitespace'],
    ['a trailing newline', { value: 'sk-ant-api03-00000000000000000000\n' }, 'whitespace'],
    ["the workspaces' placeholder", { value: WORKSPACE_API_KEY_PLACEHOLDER }, 'placeholder'],
    ['a number', { value: 1234567890123456 }, ''],
    ['no value', {}, ''],
    ['an unknown field', { value: KEY, name: 'x' }, 'not a known field'],
  ])('refuses %s with 400 and never echoes the value', async (_label, payload, rule) => {
    const auth = { authorization: await t.bearer(await t.user('member')) };
    const res = await t.app.inject({ method: 'PUT', url: URL_KEY, headers: auth, payload });
    expect(res.statusCode).toBe(400);
    const body = res.json() as ErrorEnvelope;
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.fields?.map((f) => f.path).some((p) => p.startsWith('body'))).toBe(true);
    expect(body.error.message).toContain(rule);
    const value = (payload as { value?: unknown }).value;
    if (typeof value === 'string') expect(res.body).not.toContain(value.trim());
    expect((await t.app.inject({ url: '/api/v1/me/secrets', headers: auth })).json()).toEqual({ items: [] });
  });

  it('refuses a body that is not JSON, and knows no other secret names', async () => {
    const auth = { authorization: await t.bearer(await t.user('member')) };
    const text = await t.app.inject({
      method: 'PUT',
      url: URL_KEY,
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: KEY,
    });
    expect(text.statusCode).toBe(400);
    expect(text.body).not.toContain(KEY);
    const other = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/me/secrets/github-token',
      headers: auth,
      payload: { value: KEY },
    });
    expect(other.statusCode).toBe(404);
  });

  it('needs a signed-in caller', async () => {
    expect((await t.app.inject({ url: '/api/v1/me/secrets' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'PUT', url: URL_KEY, payload: { value: KEY } })).statusCode).toBe(
      401,
    );
  });
});
