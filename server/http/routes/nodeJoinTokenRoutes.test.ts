// Join tokens and the node channel's admission on both engines, with a real listening app: the
// secret is shown once and stored hashed, bad bodies name the field, and a wrong, revoked,
// expired or other node's token is refused before the upgrade and audited.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CreatedNodeJoinToken } from '../../../sdk/nodeWire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import { hashSecret } from '../../auth/secrets.js';

describe.each(engines)('node join tokens and /api/v1/nodes/connect (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp(engine, {
      flags: { nodes: [{ name: 'edge', docker: { node: 'edge-1' } }] },
    });
    admin = await t.bearer(await t.user('admin'));
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  const mint = async (body: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/join-tokens',
      headers: { authorization: admin },
      payload: body as object,
    });
  const dial = (token: string, node: string, v = '1') =>
    new Promise<{ status: number; body: string; ws?: WebSocket }>((resolve, reject) => {
      const ws = new WebSocket(`${base}/api/v1/nodes/connect?v=${v}`, {
        headers: { authorization: `Bearer ${token}`, 'x-rc-node': node },
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => resolve({ status: 101, body: '', ws }));
      ws.once('error', (err) => {
        if (!String(err.message).includes('Unexpected server response')) reject(err);
      });
    });

  it('mints a token shown once, stored as its hash, listed without the secret', async () => {
    const res = await mint({ node: 'edge-1' });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json() as CreatedNodeJoinToken;
    expect(created.token).toMatch(/^rcn_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ node: 'edge-1', expiresAt: null, revokedAt: null });
    const row = await t.services.nodeJoinTokens.byId(created.id);
    expect(row?.token_hash).toBe(hashSecret(created.token));
    const list = await t.app.inject({ url: '/api/v1/nodes/join-tokens', headers: { authorization: admin } });
    expect(list.body).not.toContain(created.token);
    expect(list.json().items.map((i: { id: string }) => i.id)).toContain(created.id);
  });

  it.each([
    [{}, 'node'],
    [{ node: 'has space' }, 'node'],
    [{ node: 'edge-1', expiresInDays: 0 }, 'expiresInDays'],
    [{ node: 'edge-1', extra: true }, ''],
  ])('refuses the body %j with 400 naming the field', async (body, field) => {
    const res = await mint(body);
    expect(res.statusCode).toBe(400);
    const paths = (res.json().error.fields as { path: string }[]).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([field ? `body.${field}` : expect.stringMatching(/^body/)]));
  });

  it('lets the right node in, and refuses wrong, revoked, expired, other-node and old-version handshakes', async () => {
    const good = (await mint({ node: 'edge-1' })).json() as CreatedNodeJoinToken;
    const ok = await dial(good.token, 'edge-1');
    expect(ok.status).toBe(101);
    await until(() => t.services.runtime.nodes?.isConnected('edge-1') === true);
    ok.ws?.close();
    expect((await t.services.nodeJoinTokens.byId(good.id))?.last_used_at).not.toBeNull();

    expect((await dial('rcn_nothing', 'edge-1')).status).toBe(401);
    expect((await dial(good.token, 'edge-2')).status).toBe(401);
    expect((await dial(good.token, 'edge-1', '99')).status).toBe(426);
    const ghost = (await mint({ node: 'ghost' })).json() as CreatedNodeJoinToken;
    const notConfigured = await dial(ghost.token, 'ghost');
    expect(notConfigured.status).toBe(403);
    expect(JSON.parse(notConfigured.body).error.code).toBe('node_not_configured');

    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/nodes/join-tokens/${good.id}`,
      headers: { authorization: admin },
    });
    expect(del.statusCode).toBe(204);
    const revoked = await dial(good.token, 'edge-1');
    expect(revoked.status).toBe(401);
    expect(JSON.parse(revoked.body).error).toMatchObject({
      code: 'node_refused',
      message: 'The join token is not valid.',
    });

    const short = (await mint({ node: 'edge-1', expiresInDays: 1 })).json() as CreatedNodeJoinToken;
    t.clock.advance(2 * 86_400_000);
    expect((await dial(short.token, 'edge-1')).status).toBe(401);

    const audit = await t.services.auditStore.query({ action: 'node.connect', limit: 50 });
    const reasons = audit.rows.map((r) => [r.result, r.status_code, JSON.parse(r.detail ?? '{}').reason]);
    expect(reasons).toEqual(
      expect.arrayContaining([
        ['success', null, undefined],
        ['denied', 401, 'bad_token'],
        ['denied', 401, 'wrong_node'],
        ['denied', 426, 'protocol_version'],
        ['denied', 403, 'not_configured'],
      ]),
    );
    expect(reasons.filter((r) => r[2] === 'bad_token')).toHaveLength(3);
    const deletedAgain = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/nodes/join-tokens/no-such-token',
      headers: { authorization: admin },
    });
    expect(deletedAgain.statusCode).toBe(404);
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
