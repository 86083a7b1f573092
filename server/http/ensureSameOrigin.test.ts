// The one origin check for streams, walked over every GET route of the app's route table (so a
// route added later is covered without editing this test), then over real WebSocket and SSE
// connections to a real task's event stream — the hole that was found there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTaskRow } from '../../test/support/taskRow.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import type { UserRow } from '../store/userStore.js';
import { routeTable } from './routeTable.js';

const WS_HANDSHAKE = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};
const SSE = { accept: 'text/event-stream' };

describe('origin check for WebSocket and SSE routes', () => {
  let t: TestApp;
  let owner: UserRow;
  let cookie: string;
  let bearer: string;
  let base: string;
  let own: string;
  let foreign: string[];
  let taskId: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    owner = await t.user('member');
    cookie = (await t.login(owner)).cookie;
    bearer = await t.bearer(owner);
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(base);
    own = base;
    // Another port of the same host, a subdomain of it, another scheme's port, another site,
    // the opaque origin of a sandboxed frame, and junk.
    foreign = [
      `http://127.0.0.1:${Number(port) + 1}`,
      `http://evil.127.0.0.1.nip.io:${port}`,
      `http://app.localhost:${port}`,
      'https://127.0.0.1',
      'https://evil.example',
      'null',
      'not a url',
    ];
    taskId = await createTaskRow(t, owner.id);
  });
  afterAll(() => t.close());

  const getRoutes = () => {
    const urls = routeTable(t.app as never)
      .filter((r) => r.method === 'GET')
      .map((r) => r.url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'x'));
    return [...new Set(urls)];
  };

  it('the route table lists every route, WebSocket ones marked', () => {
    const ws = routeTable(t.app as never).filter((r) => r.websocket);
    expect(ws.map((r) => r.url)).toEqual(
      expect.arrayContaining([
        '/api/v1/tasks/:id/events',
        '/api/v1/workspaces/:id/terminals',
        '/api/v1/workspaces/:id/watch',
      ]),
    );
    expect(getRoutes().length).toBeGreaterThan(30);
  });

  it('every GET route refuses a WebSocket handshake or an event stream with the cookie from another origin', async () => {
    const host = new URL(base).host;
    for (const url of getRoutes()) {
      for (const kind of [WS_HANDSHAKE, SSE]) {
        for (const origin of foreign) {
          const res = await t.app.inject({ url, headers: { ...kind, host, cookie, origin } });
          const what = `${url} ${kind === SSE ? 'SSE' : 'WebSocket'} from ${origin}`;
          expect(res.statusCode, `${what}: ${res.body}`).toBe(403);
          expect(res.json().error.code, what).toBe('cross_origin');
        }
        // Our own pages, a token (a page elsewhere cannot know it) and no credentials at all are
        // not this check's business.
        for (const headers of [
          { cookie, origin: own },
          { cookie },
          { authorization: bearer, origin: foreign[0] as string },
          { authorization: bearer, cookie, origin: foreign[0] as string },
          { origin: foreign[0] as string },
        ]) {
          const res = await t.app.inject({ url, headers: { ...kind, host, ...headers } });
          expect(res.body, `${url} ${JSON.stringify(headers)}`).not.toContain('cross_origin');
        }
      }
    }
  });

  it('the origin check is by host: the public URL counts as our own, too', async () => {
    const url = `/api/v1/tasks/${taskId}/events`;
    const pub = await t.app.inject({
      url,
      headers: { ...WS_HANDSHAKE, host: 'internal:1', cookie, origin: t.services.publicUrl },
    });
    expect(pub.body).not.toContain('cross_origin');
    // Same host, other port than the request was sent to: refused.
    const other = await t.app.inject({
      url,
      headers: { ...WS_HANDSHAKE, cookie, host: '127.0.0.1:9', origin: 'http://127.0.0.1:10' },
    });
    expect(other.statusCode).toBe(403);
  });

  const connect = (headers: Record<string, string>) =>
    new Promise<{ opened: boolean; status?: number; body?: string }>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/tasks/${taskId}/events`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve({ opened: true });
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d;
        });
        res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, body }));
      });
      ws.on('error', reject);
    });

  it("a real task's event WebSocket: our own page opens it, another origin's page gets 403", async () => {
    expect(await connect({ cookie, origin: own })).toEqual({ opened: true });
    expect(await connect({ authorization: bearer, origin: foreign[1] as string })).toEqual({ opened: true });
    for (const origin of foreign.slice(0, 3)) {
      const refused = await connect({ cookie, origin });
      expect(refused.status, origin).toBe(403);
      expect(JSON.parse(refused.body ?? '')).toMatchObject({ error: { code: 'cross_origin' } });
    }
  });

  it("a real task's event stream (SSE): our own page reads it, another origin's page gets 403", async () => {
    const url = `${base}/api/v1/tasks/${taskId}/events`;
    const ownStream = await fetch(url, { headers: { ...SSE, cookie, origin: own } });
    expect(ownStream.status).toBe(200);
    expect(ownStream.headers.get('content-type')).toMatch(/text\/event-stream/);
    await ownStream.body?.cancel();
    const refused = await fetch(url, { headers: { ...SSE, cookie, origin: foreign[0] as string } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'cross_origin' } });
  });
});
