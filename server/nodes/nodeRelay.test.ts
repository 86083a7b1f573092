// Two replicas on one PostgreSQL schema, a real `rclaude node` daemon (in process, on this
// machine's Docker socket) connected to A: B reaches the node's Docker daemon and its agent
// sockets through A over the signed internal routes, shows the node in GET /api/v1/nodes, and
// says so in a sentence once the daemon is gone. Forged internal requests are refused, audited.
// A join token revoked on B drops its node from A at once, and the daemon stops.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NodeDaemon, NodeRefusedError } from '../../cli/node/nodeDaemon.js';
import type { NodeItem } from '../../sdk/nodeWire.js';
import { type GitHttpServer, startGitHttpServer } from '../../test/support/gitHttpServer.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { dockerFlags, TEST_REPOS } from '../../test/support/workspaceKit.js';
import { hashSecret, randomSecret } from '../auth/secrets.js';
import { toWireAudit } from '../store/auditStore.js';
import { nodeDockerPath, nodeRequestPath } from './nodeRelay.js';

describe('a node daemon held by another replica (PostgreSQL)', () => {
  let a: TestApp;
  let b: TestApp;
  let baseA: string;
  let baseB: string;
  let daemon: NodeDaemon;
  let running: Promise<void>;
  let runDir: string;
  let adminB: string;
  let git: GitHttpServer;

  beforeAll(async () => {
    git = await startGitHttpServer({ repos: TEST_REPOS });
    const flags = {
      'runtime.driver': 'docker',
      ...(await dockerFlags()),
      nodes: [{ name: 'edge', docker: { node: 'edge' } }],
      'egress.allow': [`127.0.0.1:${git.port}`],
      'workspaces.heartbeatIntervalMs': 500,
      'workspaces.startTimeout': 30,
    };
    a = await createTestApp('postgres', { flags });
    b = await createTestApp('postgres', { flags, sameStoreAs: a });
    baseA = await a.app.listen({ port: 0, host: '127.0.0.1' });
    baseB = await b.app.listen({ port: 0, host: '127.0.0.1' });
    await a.services.replicas.start(baseA);
    await b.services.replicas.start(baseB);
    adminB = await b.bearer(await b.user('admin'));
    const token = `rcn_${randomSecret(32)}`;
    await a.services.nodeJoinTokens.create({
      node: 'edge',
      tokenHash: hashSecret(token),
      prefix: token.slice(0, 9),
      createdBy: null,
      expiresAt: null,
    });
    runDir = mkdtempSync('/tmp/rc-nr-');
    daemon = new NodeDaemon({
      url: baseA,
      joinToken: token,
      name: 'edge',
      dockerSocket: '/var/run/docker.sock',
      runDir,
      log: () => {},
    });
    running = daemon.run();
    await until(async () => (await nodesOn(b)).daemon?.report !== null);
  }, 60_000);
  afterAll(async () => {
    for (const row of (await a?.services.workspaces.list()) ?? []) {
      await a.services.runtime.service.remove(row.id, { keepVolume: false }).catch(() => {});
    }
    await daemon?.stop();
    await running?.catch(() => {});
    await b?.services.replicas.stop();
    await a?.services.replicas.stop();
    await b?.close();
    await a?.close();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    await git?.close();
  }, 60_000);

  const nodesOn = async (t: TestApp): Promise<NodeItem> => {
    const res = await t.app.inject({
      url: '/api/v1/nodes',
      headers: { authorization: t === b ? adminB : await a.bearer(await a.user('admin')) },
    });
    return (res.json() as { items: NodeItem[] }).items.find((n) => n.name === 'edge') as NodeItem;
  };

  it("B reaches the node's Docker daemon and agent sockets through A", async () => {
    expect(a.services.runtime.nodes?.isConnected('edge')).toBe(true);
    expect(b.services.runtime.nodes?.isConnected('edge')).toBe(false);
    const seen = await nodesOn(b);
    expect(seen).toMatchObject({
      healthy: true,
      daemon: { connected: true, replicaId: a.services.replicas.id, report: { healthy: true } },
    });
    expect(seen.host?.cpu).toBeGreaterThan(0);
    const link = b.services.runtime.nodes?.link('edge');
    const dir = await link?.listen('ws-relayed');
    expect(dir).toBe(join(runDir, 'ws-relayed'));
    expect(existsSync(join(runDir, 'ws-relayed', 'agent.sock'))).toBe(true);
    await link?.unlisten('ws-relayed');
    expect(existsSync(join(runDir, 'ws-relayed'))).toBe(false);
    // The workspace list of B's driver comes from the node's daemon too.
    expect(Array.isArray(await b.services.runtime.driver.list())).toBe(true);
  });

  it('a workspace started on B runs on the node, its agent relayed to A, and answers through B', async () => {
    const owner = await b.user('member');
    const res = await b.app.inject({
      method: 'POST',
      url: '/api/v1/workspaces',
      headers: { authorization: await b.bearer(owner) },
      payload: { repository: git.url('app') },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as { id: string }).id;
    await until(async () => (await b.services.workspaces.byId(id))?.status !== 'starting', 60_000);
    const row = await b.services.workspaces.byId(id);
    expect(row?.status, row?.status_reason ?? '').toBe('running');
    // The agent is on A (the node dials A); B reaches it through A.
    expect(a.services.runtime.hub.connection(id)).toBeDefined();
    expect(b.services.runtime.hub.connection(id)).toBeUndefined();
    const listed = await b.services.runtime.hub.request<{ entries: { name: string }[] }>(id, 'files.list', {
      path: '',
    });
    expect(listed.entries.map((e) => e.name)).toContain('README.md');
  }, 90_000);

  it('refuses unsigned internal requests with 401, audited', async () => {
    const res = await fetch(`${baseA}${nodeRequestPath('edge')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'workspace.unlisten', params: { workspaceId: 'x' } }),
    });
    expect(res.status).toBe(401);
    const ws = await new Promise<number>((resolve, reject) => {
      const s = new WebSocket(`${baseA.replace('http', 'ws')}${nodeDockerPath('edge')}`);
      s.once('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
      s.once('open', () => resolve(101));
      s.once('error', reject);
    });
    expect(ws).toBe(401);
    const audit = await a.services.auditStore.query({ action: 'cluster.request', limit: 10 });
    expect(audit.rows.filter((r) => r.result === 'denied').length).toBeGreaterThanOrEqual(2);
  });

  it('once the daemon is gone, B says so in a sentence', async () => {
    await daemon.stop();
    await running;
    await until(async () => !a.services.runtime.nodes?.isConnected('edge'));
    await until(async () => (await nodesOn(b)).healthy === false);
    expect((await nodesOn(b)).error).toMatch(
      /^Docker node edge is reached through its rclaude node daemon, which is not connected/,
    );
  });

  it('a join token revoked on B drops its node, connected to A, at once; the daemon stops, audited', async () => {
    const created = await b.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/join-tokens',
      headers: { authorization: adminB },
      payload: { node: 'edge' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id, token } = created.json() as { id: string; token: string };
    const events: [string, Record<string, unknown>][] = [];
    const second = new NodeDaemon({
      url: baseA,
      joinToken: token,
      name: 'edge',
      dockerSocket: '/var/run/docker.sock',
      runDir,
      log: (event, fields = {}) => events.push([event, fields]),
    });
    const outcome = second.run().then(
      () => undefined,
      (err: Error) => err,
    );
    try {
      await until(async () => a.services.runtime.nodes?.isConnected('edge') === true);
      const revoked = await b.app.inject({
        method: 'DELETE',
        url: `/api/v1/nodes/join-tokens/${id}`,
        headers: { authorization: adminB },
      });
      expect(revoked.statusCode, revoked.body).toBe(204);
      await until(async () => !a.services.runtime.nodes?.isConnected('edge'), 5000);
      const err = await outcome;
      expect(err).toBeInstanceOf(NodeRefusedError);
      expect(err?.message).toBe(
        'The control plane disconnected this node: The join token of this node was revoked.',
      );
      // It logged the sentence once and did not dial again.
      expect(events.filter(([e]) => e === 'node.refused')).toEqual([
        ['node.refused', { code: 4401, message: 'The join token of this node was revoked.' }],
      ]);
      expect(events.filter(([e]) => e === 'node.connected')).toHaveLength(1);
      const audit = (await a.services.auditStore.query({ action: 'node.connect', limit: 20 })).rows.map(
        toWireAudit,
      );
      expect(audit.find((r) => r.result === 'denied' && r.detail?.reason === 'token_revoked')).toMatchObject({
        targetId: 'edge',
        statusCode: 401,
        detail: { tokenId: id, replicaId: a.services.replicas.id },
      });
    } finally {
      await second.stop();
    }
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
