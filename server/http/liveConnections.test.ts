// Open task-event WebSockets and SSE streams close, within a second, when the credential they were
// opened with stops working (sign out, token revoked, account disabled) or when a role change
// means the caller may no longer see the task; everyone else's stay open. Real HTTP on loopback.
import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WS_FORBIDDEN, WS_UNAUTHORIZED } from '../../sdk/limits.js';
import type { CreatedToken } from '../../sdk/wire.js';
import { createTaskRow } from '../../test/support/taskRow.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { hashSecret } from '../auth/secrets.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';
import type { UserRow } from '../store/userStore.js';
import type { HttpError } from './errors.js';
import { EXPIRY_SWEEP_MS } from './liveConnections.js';
import type { Principal } from './requestContext.js';

type Headers = Record<string, string>;

function baseOf(t: TestApp): string {
  return `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}

/** A task-event WebSocket, resolved once open; `closed` gives its close code and reason. */
async function openSocket(t: TestApp, taskId: string, headers: Headers) {
  const ws = new WebSocket(`ws://${baseOf(t)}/api/v1/tasks/${taskId}/events`, { headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(ws, 'open');
  return { ws, closed };
}

/** A task-event SSE stream, resolved once its first bytes arrived; `ended` gives all it sent. */
async function openStream(t: TestApp, taskId: string, headers: Headers) {
  const req = request(`http://${baseOf(t)}/api/v1/tasks/${taskId}/events`, {
    headers: { ...headers, accept: 'text/event-stream' },
  });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  expect(res.statusCode).toBe(200);
  let text = '';
  const started = once(res, 'data');
  res.on('data', (chunk) => {
    text += String(chunk);
  });
  const ended = new Promise<string>((resolve) => res.on('end', () => resolve(text)));
  await started;
  return { req, ended };
}

/** `p`, or 'still open' when it has not settled within a second. */
function withinASecond<T>(p: Promise<T>): Promise<T | 'still open'> {
  return Promise.race([p, new Promise<'still open'>((r) => setTimeout(() => r('still open'), 1_000))]);
}

const errorFrame = (text: string) => {
  const m = /event: error\ndata: (.*)\n\n$/.exec(text);
  return m ? JSON.parse(m[1] as string) : undefined;
};

describe('open connections when access changes (one process)', () => {
  let t: TestApp;
  let other: { user: UserRow; auth: string; task: string };

  beforeAll(async () => {
    t = await createTestApp('sqlite', { services: { driver: new NeverStartingDriver() } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const user = await t.user('member');
    other = { user, auth: await t.bearer(user), task: await createTaskRow(t, user.id) };
  });
  afterAll(() => t.close());

  /** Another user's socket, to show it is not touched. */
  const bystander = () => openSocket(t, other.task, { authorization: other.auth });

  it('signing out closes the session’s socket (4401 "signed out") and stream (error frame), not others', async () => {
    const user = await t.user('member');
    const task = await createTaskRow(t, user.id);
    const session = await t.login(user);
    const socket = await openSocket(t, task, { cookie: session.cookie });
    const stream = await openStream(t, task, { cookie: session.cookie });
    const kept = await bystander();

    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    });
    expect(res.statusCode).toBe(204);

    expect(await withinASecond(socket.closed)).toEqual({ code: WS_UNAUTHORIZED, reason: 'signed out' });
    const text = await withinASecond(stream.ended);
    expect(errorFrame(text as string)).toEqual({
      error: { code: 'unauthorized', message: 'You were signed out; sign in again.' },
    });
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    kept.ws.close();
  });

  it('revoking a token closes what it opened (4401 "access revoked"), not the owner’s other token', async () => {
    const user = await t.user('member');
    const task = await createTaskRow(t, user.id);
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { authorization: await t.bearer(user) },
      payload: { name: 'ci' },
    });
    const created = made.json() as CreatedToken;
    const revoked = await openSocket(t, task, { authorization: `Bearer ${created.token}` });
    const kept = await openSocket(t, task, { authorization: await t.bearer(user) });

    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${created.id}`,
      headers: { authorization: `Bearer ${created.token}` },
    });
    expect(res.statusCode).toBe(204);

    expect(await withinASecond(revoked.closed)).toEqual({ code: WS_UNAUTHORIZED, reason: 'access revoked' });
    await new Promise((r) => setTimeout(r, 100));
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    kept.ws.close();
  });

  it('disabling a user closes their token socket and session stream, not another user’s', async () => {
    const admin = await t.user('admin');
    const user = await t.user('member');
    const task = await createTaskRow(t, user.id);
    const socket = await openSocket(t, task, { authorization: await t.bearer(user) });
    const stream = await openStream(t, task, { cookie: (await t.login(user)).cookie });
    const kept = await bystander();

    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      headers: { authorization: await t.bearer(admin) },
      payload: { disabled: true },
    });
    expect(res.statusCode).toBe(200);

    expect(await withinASecond(socket.closed)).toEqual({ code: WS_UNAUTHORIZED, reason: 'access revoked' });
    expect(errorFrame((await withinASecond(stream.ended)) as string)?.error.code).toBe('unauthorized');
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    kept.ws.close();
  });

  it('a demoted admin loses another user’s task (4403) and keeps watching their own', async () => {
    const owner = await t.user('owner');
    const admin = await t.user('admin');
    const auth = await t.bearer(admin);
    const theirs = await openSocket(t, other.task, { authorization: auth });
    const own = await openSocket(t, await createTaskRow(t, admin.id), { authorization: auth });

    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${admin.id}`,
      headers: { authorization: await t.bearer(owner) },
      payload: { role: 'member' },
    });
    expect(res.statusCode).toBe(200);

    expect(await withinASecond(theirs.closed)).toEqual({ code: WS_FORBIDDEN, reason: 'access revoked' });
    await new Promise((r) => setTimeout(r, 100));
    expect(own.ws.readyState).toBe(WebSocket.OPEN);
    own.ws.close();
  });

  it('checks at once a connection whose request came before an announcement it was tracked after', async () => {
    const user = await t.user('member');
    const cookie = (await t.login(user)).cookie;
    const row = await t.services.sessions.byHash(hashSecret(cookie.slice('rc_session='.length)));
    const principal: Principal = { user, method: 'session', sessionId: row?.id as string };
    const live = t.services.liveConnections;
    const req = {} as FastifyRequest;
    live.noteRequest(req);
    await t.services.sessions.revoke(principal.sessionId as string);
    await new Promise((r) => setTimeout(r, 50));
    const ended: HttpError[] = [];
    const untrack = live.add({ principal, reauthorize: async () => {}, end: (why) => ended.push(why) }, req);
    await new Promise((r) => setTimeout(r, 200));
    untrack();
    expect(ended.map((e) => e.status)).toEqual([401]);
  });

  it('a session that runs out unused closes its socket at the next sweep; one still in use lives on', async () => {
    const user = await t.user('member');
    const task = await createTaskRow(t, user.id);
    const idle = await t.login(user);
    const used = await t.login(user);
    const expiring = await openSocket(t, task, { cookie: idle.cookie });
    const living = await openSocket(t, task, { cookie: used.cookie });
    const ttl = t.services.config.auth.sessionTtl * 1000;
    // Past the TTL for the idle one; the other is used (and slides on) just before.
    t.clock.advance(ttl - 60_000);
    const touched = await t.app.inject({ url: '/api/v1/me', headers: { cookie: used.cookie } });
    expect(touched.statusCode).toBe(200);
    t.clock.advance(60_000 + EXPIRY_SWEEP_MS);
    expect(await withinASecond(expiring.closed)).toEqual({ code: WS_UNAUTHORIZED, reason: 'signed out' });
    await t.services.liveConnections.sweepExpired();
    expect(living.ws.readyState).toBe(WebSocket.OPEN);
    living.ws.close();
  });

  it('forgets connections once they close', async () => {
    await new Promise((r) => setTimeout(r, 100));
    expect(t.services.liveConnections.size).toBe(0);
  });
});

describe('open connections when access changes on another replica (PostgreSQL)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp('postgres', { services: { driver: new NeverStartingDriver() } });
    b = await createTestApp('postgres', { sameStoreAs: a, services: { driver: new NeverStartingDriver() } });
    await b.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a session signed out through A closes its socket on B', async () => {
    const user = await a.user('member');
    const task = await createTaskRow(a, user.id);
    const session = await a.login(user);
    const socket = await openSocket(b, task, { cookie: session.cookie });

    const res = await a.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
    });
    expect(res.statusCode).toBe(204);
    expect(await withinASecond(socket.closed)).toEqual({ code: WS_UNAUTHORIZED, reason: 'signed out' });
  });
});
