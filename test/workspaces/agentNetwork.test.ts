// The agent channel over the network (DESIGN §4): the real agent bundle, run as a host process
// by a `network` driver, dials the app's `GET /api/v1/agent` at the RC_AGENT_URL the server put
// in its spec; bad credentials are refused before the upgrade and audited; the agent comes back
// after its connection is cut and after the control plane restarts on the same port.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION } from '../../sdk/agentProtocol.js';
import { buildApp } from '../../server/http/app.js';
import { READINESS_STEPS } from '../../server/readiness.js';
import { createServices } from '../../server/services.js';
import { hashAgentToken } from '../../server/workspaces/agentHub.js';
import { HostAgentDriver } from '../support/hostAgentDriver.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

describe('agent channel over the network', () => {
  const driver = new HostAgentDriver();
  let t: TestApp;
  let base: string;
  let endpoint: string;
  let id: string;
  let other: string;
  let apiToken: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      services: { driver },
      flags: { 'workspaces.heartbeatIntervalMs': 200, 'workspaces.startTimeout': 20 },
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    t.services.publicUrl = base;
    endpoint = `${base.replace(/^http/, 'ws')}/api/v1/agent`;
    const user = await t.user('member');
    apiToken = await t.bearer(user);
    const service = t.services.runtime.service;
    id = (await service.create(user.id, { repository: 'https://git.example.test/a/net', start: false })).row
      .id;
    other = (await service.create(user.id, { repository: 'https://git.example.test/a/other', start: false }))
      .row.id;
    // Nothing to clone from: the row says it is done, so a start goes straight to running.
    await t.services.workspaces.update(id, { cloned: 1 });
    await service.start(id);
    expect((await service.settled(id, 30_000))?.status).toBe('running');
  });
  afterAll(async () => {
    await t?.close();
    await driver.removeAll();
  });

  const exec = async (hub = t.services.runtime.hub) => {
    const conn = hub.connection(id);
    if (!conn) throw new Error('no agent connection');
    return conn.peer.request<{ stdout: string }>('exec', { argv: ['echo', 'over-the-network'] });
  };

  it('the real agent dials RC_AGENT_URL from its spec and serves requests over it', async () => {
    expect(driver.logs(id).join('\n')).toContain(`url=${endpoint}`);
    expect(t.services.runtime.hub.connection(id)?.transport).toBe('network');
    expect((await exec()).stdout).toBe('over-the-network\n');
  });

  const dial = (headers: Record<string, string>, version = AGENT_PROTOCOL_VERSION) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const ws = new WebSocket(`${endpoint}?v=${version}`, { headers });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('open', () => {
        ws.close();
        resolve({ status: 101, body: '' });
      });
      ws.on('error', () => {});
    });
  const refusals = async (targetId: string, reason: string) => {
    const { rows } = await t.services.auditStore.query({ action: 'agent.connect', limit: 100 } as never);
    return rows.filter(
      (r) =>
        r.target_id === targetId &&
        r.result === 'denied' &&
        (r.detail ?? '').includes(reason) &&
        (r.detail ?? '').includes('network'),
    );
  };

  it('refuses a wrong token, another workspace’s token and a user’s API token, audited, never a 500', async () => {
    const otherToken = 'o'.repeat(43);
    await t.services.workspaces.update(other, { agent_token_hash: hashAgentToken(otherToken) });
    const before = (await refusals(id, 'bad_token')).length;
    for (const authorization of [`Bearer ${'x'.repeat(43)}`, `Bearer ${otherToken}`, apiToken]) {
      const res = await dial({ authorization, 'x-rc-workspace': id });
      expect(res.status, authorization.slice(0, 12)).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('agent_refused');
      expect(res.body).not.toContain(otherToken);
    }
    expect((await refusals(id, 'bad_token')).length).toBe(before + 3);
    const { rows } = await t.services.auditStore.query({ action: 'agent.connect', limit: 100 } as never);
    expect(JSON.stringify(rows)).not.toContain(otherToken);
    // The one that works: still there, untouched.
    expect((await exec()).stdout).toBe('over-the-network\n');
  });

  it('refuses the right token of a workspace that is not running, and an unknown protocol version', async () => {
    const token = 'p'.repeat(43);
    await t.services.workspaces.update(other, { agent_token_hash: hashAgentToken(token) });
    const headers = { authorization: `Bearer ${token}`, 'x-rc-workspace': other };
    expect((await dial(headers)).status).toBe(401);
    expect((await refusals(other, 'not_running')).length).toBe(1);
    const old = await dial(headers, 99);
    expect(old.status).toBe(426);
    expect(JSON.parse(old.body).error.code).toBe('unsupported_protocol_version');
    expect((await refusals(other, 'protocol_version')).length).toBe(1);
    // No workspace named at all.
    expect((await dial({ authorization: apiToken })).status).toBe(401);
  });

  it('the agent reconnects with backoff after the server cuts its connection', async () => {
    const hub = t.services.runtime.hub;
    const first = hub.connection(id);
    const gone = once(hub, 'disconnected');
    first?.peer.ws.terminate();
    await gone;
    const second = await hub.waitForAgent(id, 10_000);
    expect(second).not.toBe(first);
    expect((await exec()).stdout).toBe('over-the-network\n');
    expect(driver.logs(id).join('\n')).toMatch(/agent\.disconnected .*retryInMs=/);
  });

  it('the agent reconnects to a new control plane on the same port', async () => {
    const port = Number(new URL(base).port);
    await t.app.close();
    // The agent finds nothing listening for a while, and keeps trying.
    await expect
      .poll(() => driver.logs(id).filter((l) => /agent\.connect_failed .*retryInMs=/.test(l)).length, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(2);
    // A new control plane on the same store: nothing tells it about the workspace but the row.
    const services = createServices(t.config, t.services.db, t.clock, { driver });
    for (const step of READINESS_STEPS) services.readiness.mark(step);
    const app = await buildApp(services, { logStream: null });
    try {
      await app.listen({ port, host: '127.0.0.1' });
      services.publicUrl = base;
      const conn = await services.runtime.hub.waitForAgent(id, 15_000);
      expect(conn.transport).toBe('network');
      expect((await exec(services.runtime.hub)).stdout).toBe('over-the-network\n');
    } finally {
      await app.close();
    }
  });
});
