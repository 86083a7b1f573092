// Two replicas on one PostgreSQL schema, each listening on 127.0.0.1: an agent connected to A over
// `GET /api/v1/agent` answers requests made through B's API, relayed A-ward with a signed internal
// request; its errors, and its absence, look on B exactly as they do on A; the internal route
// refuses forged and stale requests (401, audited) and bad bodies (400 naming the field).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverToAgent, taskMethods } from '../../sdk/agentProtocol.js';
import { opError, type RpcHandler } from '../../sdk/rpcPeer.js';
import type { WorkspaceStatus } from '../../sdk/workspaceWire.js';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { ManualClock } from '../clock.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';
import type { UserRow } from '../store/userStore.js';
import { relayPath } from './agentRelay.js';
import { CLOCK_WINDOW_MS, ClusterAuth } from './clusterAuth.js';

const ENTRY = { size: 4096, mtimeMs: Date.parse('2026-01-02T03:04:05.000Z'), mode: 0o40755 };

/** The agent's side: a directory `src` holding `main.ts`; anything else does not exist. */
const handlers: Record<string, RpcHandler> = {
  'files.stat': {
    params: serverToAgent['files.stat'].params,
    handle: async (p: { path: string }) => {
      if (p.path !== 'src') throw opError('not_found', 'no such file or directory');
      return { name: 'src', type: 'dir', ...ENTRY };
    },
  },
  'files.list': {
    params: serverToAgent['files.list'].params,
    handle: async () => ({
      entries: [{ name: 'main.ts', type: 'file', ...ENTRY, size: 12, mode: 0o100644 }],
    }),
  },
  'files.mkdir': {
    params: serverToAgent['files.mkdir'].params,
    handle: async () => {
      throw opError('exists', 'file exists');
    },
  },
  'task.interrupt': {
    params: taskMethods['task.interrupt'].params,
    handle: async (p: { taskId: string }) => {
      interrupted.push(p.taskId);
      return {};
    },
  },
};
const interrupted: string[] = [];

describe('agent requests relayed between two replicas on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  let baseA: string;
  let baseB: string;
  let owner: UserRow;
  let auth: { a: string; b: string };
  let workspaceId: string;
  let agent: ScriptedAgent;

  beforeAll(async () => {
    const services = { driver: new NeverStartingDriver() };
    a = await createTestApp('postgres', { services });
    b = await createTestApp('postgres', { services: { driver: new NeverStartingDriver() }, sameStoreAs: a });
    baseA = await a.app.listen({ port: 0, host: '127.0.0.1' });
    baseB = await b.app.listen({ port: 0, host: '127.0.0.1' });
    await a.services.replicas.start(baseA);
    await b.services.replicas.start(baseB);
    owner = await a.user('member');
    auth = { a: await a.bearer(owner), b: await b.bearer(owner) };
    const { row } = await a.services.runtime.service.create(owner.id, {
      repository: 'https://git.example.test/a/relay',
      start: false,
    });
    workspaceId = row.id;
    await a.services.workspaces.transition(workspaceId, [row.status as WorkspaceStatus], 'running');
    agent = await connectAgent();
  });
  afterAll(async () => {
    agent?.close();
    await b?.services.replicas.stop();
    await a?.services.replicas.stop();
    await b?.close();
    await a?.close();
  });

  /** Connects the scripted agent to A's network endpoint; resolves once B can see where it is. */
  async function connectAgent(): Promise<ScriptedAgent> {
    const conn = await ScriptedAgent.connect(a, workspaceId, {
      networkUrl: `${baseA.replace(/^http/, 'ws')}/api/v1/agent`,
      handlers,
    });
    await until(async () => await b.services.runtime.hub.isReachable(workspaceId));
    return conn;
  }

  async function until(probe: () => Promise<boolean>): Promise<void> {
    const end = performance.now() + 5_000;
    while (!(await probe())) {
      if (performance.now() > end) throw new Error('condition not met within 5 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const both = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const call = (t: TestApp, authorization: string) =>
      t.app.inject({ method, url, headers: { authorization }, ...(payload ? { payload } : {}) });
    const [onA, onB] = [await call(a, auth.a), await call(b, auth.b)];
    return {
      onA: { status: onA.statusCode, body: onA.json() },
      onB: { status: onB.statusCode, body: onB.json() },
    };
  };

  it('a directory listing through B is the agent’s answer, relayed from A', async () => {
    expect(a.services.runtime.hub.connection(workspaceId)?.transport).toBe('network');
    expect(b.services.runtime.hub.connection(workspaceId)).toBeUndefined();
    const { onA, onB } = await both('GET', `/api/v1/workspaces/${workspaceId}/files/src`);
    expect(onB.status).toBe(200);
    expect(onB.body).toEqual({
      path: 'src',
      entries: [
        {
          name: 'main.ts',
          path: 'src/main.ts',
          type: 'file',
          size: 12,
          modifiedAt: '2026-01-02T03:04:05.000Z',
          mode: '644',
        },
      ],
    });
    expect(onB).toEqual(onA);
  });

  it('a byte stream through B fails as it does on A when the agent refuses it', async () => {
    // This scripted agent knows no files.archive; the relayed channel's call fails the same way.
    const archive = await both('GET', `/api/v1/workspaces/${workspaceId}/files/src?download=true`);
    expect(archive.onA.status).toBeGreaterThanOrEqual(400);
    expect(archive.onB).toEqual(archive.onA);
  });

  it('an agent error comes back through B with the status and envelope it has on A', async () => {
    const missing = await both('GET', `/api/v1/workspaces/${workspaceId}/files/nope`);
    expect(missing.onA.status).toBe(404);
    expect(missing.onA.body.error.code).toBe('not_found');
    expect(missing.onB).toEqual(missing.onA);

    const exists = await both('POST', `/api/v1/workspaces/${workspaceId}/files/src`, { op: 'mkdir' });
    expect(exists.onA.status).toBe(409);
    expect(exists.onA.body.error.code).toBe('exists');
    expect(exists.onB).toEqual(exists.onA);
  });

  it('a task interrupt through B reaches the agent on A', async () => {
    const task = await a.services.tasks.create({
      ownerId: owner.id,
      workspaceId,
      repository: 'https://git.example.test/a/relay',
      prompt: 'hello',
      permissionMode: 'default',
    });
    await a.services.tasks.transition(task.id, ['queued'], 'running');
    const res = await b.app.inject({
      method: 'POST',
      url: `/api/v1/tasks/${task.id}/interrupt`,
      headers: { authorization: auth.b },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect(interrupted).toEqual([task.id]);
  });

  it('with the agent gone, B answers the same “not connected” error as A', async () => {
    const gone = new Promise((resolve) => a.services.runtime.hub.once('disconnected', resolve));
    agent.close();
    await gone;
    await until(async () => !(await b.services.runtime.hub.isReachable(workspaceId)));
    const { onA, onB } = await both('GET', `/api/v1/workspaces/${workspaceId}/files/src`);
    expect(onA.status).toBe(409);
    expect(onA.body.error.code).toBe('workspace_not_running');
    expect(onB).toEqual(onA);
    agent = await connectAgent();
  });

  describe('the internal route', () => {
    const path = () => relayPath(workspaceId);
    const body = JSON.stringify({ method: 'files.stat', params: { path: 'src' } });
    const post = async (headers: Record<string, string>, payload = body) =>
      fetch(new URL(path(), baseA), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
    const signed = (payload = body) => b.services.clusterAuth.sign('POST', path(), payload);
    const refusals = async () =>
      (await a.services.auditStore.query({ action: 'cluster.request', limit: 100 } as never)).rows;

    it('answers a request signed by another replica with the agent’s result', async () => {
      const res = await post(await signed());
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ result: { name: 'src', type: 'dir', ...ENTRY } });
    });

    it('refuses a forged, unsigned, replayed-late or tampered request with 401, audited', async () => {
      const before = (await refusals()).length;
      const good = await signed();
      const sig = good['x-rc-cluster-signature'] as string;
      const ts = good['x-rc-cluster-timestamp'] as string;
      const forged = `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`;
      const old = String(b.clock.now().getTime() - CLOCK_WINDOW_MS - 1_000);
      const cases: [string, Record<string, string>, string?][] = [
        ['no signature', {}],
        ['bad HMAC', { ...good, 'x-rc-cluster-signature': forged }],
        ['old timestamp', { ...good, 'x-rc-cluster-timestamp': old }],
        ['another body', good, JSON.stringify({ method: 'files.delete', params: { path: 'src' } })],
        ['not a number', { 'x-rc-cluster-signature': sig, 'x-rc-cluster-timestamp': `${ts}x` }],
      ];
      for (const [what, headers, payload] of cases) {
        const res = await post(headers, payload);
        expect(res.status, what).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code, what).toBe(
          'cluster_auth_failed',
        );
      }
      // Signed properly with the real secret, but 31 s ago (a captured request replayed).
      const past = new ManualClock(new Date(a.clock.now().getTime() - CLOCK_WINDOW_MS - 1_000));
      const replay = new ClusterAuth({ configured: undefined, settings: b.services.settings, clock: past });
      expect((await post(await replay.sign('POST', path(), body))).status).toBe(401);
      const rows = await refusals();
      expect(rows.length).toBe(before + cases.length + 1);
      expect(rows.map((r) => JSON.parse(r.detail ?? '{}').reason)).toEqual(
        expect.arrayContaining(['missing_signature', 'bad_signature', 'stale_timestamp']),
      );
      expect(rows.every((r) => r.result === 'denied' && r.status_code === 401)).toBe(true);
      expect(JSON.stringify(rows)).not.toContain(sig);
    });

    it('refuses a bad body with 400 naming the field, never a 500', async () => {
      const cases: [string, string][] = [
        [JSON.stringify({ params: {} }), 'body.method'],
        [JSON.stringify({ method: 'files.stat', params: {}, timeoutMs: -1 }), 'body.timeoutMs'],
        [JSON.stringify({ method: 'files.stat', params: {}, extra: 1 }), 'body.extra'],
        ['{"method":', 'body'],
      ];
      for (const [payload, field] of cases) {
        const res = await post(await signed(payload), payload);
        expect(res.status, payload).toBe(400);
        const err = ((await res.json()) as { error: { code: string; fields: { path: string }[] } }).error;
        expect(err.code).toBe('validation_failed');
        expect(err.fields.map((f) => f.path)).toContain(field);
      }
    });
  });
});

describe('agent connections on SQLite (one replica)', () => {
  it('the hub records the agent it holds in agent_connections and forgets it on disconnect', async () => {
    const t = await createTestApp('sqlite', { services: { driver: new NeverStartingDriver() } });
    try {
      await t.services.replicas.start('http://127.0.0.1:1');
      const user = await t.user('member');
      const { row } = await t.services.runtime.service.create(user.id, {
        repository: 'https://git.example.test/a/sqlite-relay',
        start: false,
      });
      const rows = () => t.services.db.kysely.selectFrom('agent_connections').selectAll().execute();
      const agent = await ScriptedAgent.connect(t, row.id);
      const end = performance.now() + 5_000;
      while ((await rows()).length === 0 && performance.now() < end)
        await new Promise((r) => setTimeout(r, 10));
      expect((await rows()).map((r) => [r.workspace_id, r.replica_id])).toEqual([
        [row.id, t.services.replicas.id],
      ]);
      // Held here, so nothing is relayed: this replica is not its own remote.
      expect(await t.services.runtime.hub.isReachable(row.id)).toBe(true);
      const gone = new Promise((resolve) => t.services.runtime.hub.once('disconnected', resolve));
      agent.close();
      await gone;
      while ((await rows()).length > 0 && performance.now() < end)
        await new Promise((r) => setTimeout(r, 10));
      expect(await rows()).toEqual([]);
      expect(await t.services.runtime.hub.isReachable(row.id)).toBe(false);
    } finally {
      await t.services.replicas.stop();
      await t.close();
    }
  });
});
