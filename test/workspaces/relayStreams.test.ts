// Byte streams between replicas: two replicas on one PostgreSQL schema, the real agent (a host
// process, HostAgentDriver) connected to A over the network. Through B, which holds no connection,
// a terminal opens, echoes, lists and reattaches; files are written, read, uploaded and archived;
// a file watch reports A's writes — all relayed to A over signed sockets. Losing access on B ends
// the bridged socket there; the agent leaving A ends it with 1012 (reconnect); the internal routes
// refuse unsigned callers (401, audited).
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { relaySocketPath } from '../../server/cluster/agentRelay.js';
import type { UserRow } from '../../server/store/userStore.js';
import { HostAgentDriver } from '../support/hostAgentDriver.js';
import { openTerminal } from '../support/terminalClient.js';
import { createTestApp, type TestApp } from '../support/testApp.js';

describe('terminals, files and watches relayed to the replica holding the agent', () => {
  const driver = new HostAgentDriver();
  let a: TestApp;
  let b: TestApp;
  let baseA: string;
  let baseB: string;
  let owner: UserRow;
  let auth: { a: string; b: string };
  let id: string;

  beforeAll(async () => {
    const flags = { 'workspaces.heartbeatIntervalMs': 200, 'workspaces.startTimeout': 20 };
    a = await createTestApp('postgres', { services: { driver }, flags });
    b = await createTestApp('postgres', { services: { driver }, flags, sameStoreAs: a });
    baseA = await a.app.listen({ port: 0, host: '127.0.0.1' });
    baseB = await b.app.listen({ port: 0, host: '127.0.0.1' });
    // The agent dials A only: every stream through B must be relayed.
    a.services.publicUrl = baseA;
    await a.services.replicas.start(baseA);
    await b.services.replicas.start(baseB);
    owner = await a.user('member');
    auth = { a: await a.bearer(owner), b: await b.bearer(owner) };
    const service = a.services.runtime.service;
    id = (await service.create(owner.id, { repository: 'https://git.example.test/a/relay', start: false }))
      .row.id;
    await a.services.workspaces.update(id, { cloned: 1 });
    await service.start(id);
    expect((await service.settled(id, 30_000))?.status).toBe('running');
    await waitFor(async () => (await b.services.relay.holder(id)) !== undefined);
    expect(b.services.runtime.hub.connection(id)).toBeUndefined();
  }, 60_000);
  afterAll(async () => {
    await b?.services.replicas.stop();
    await a?.services.replicas.stop();
    await b?.close();
    await a?.close();
    await driver.removeAll();
  });

  const ws = (base: string) => base.replace(/^http/, 'ws');
  const files = (base: string, key: 'a' | 'b', path: string, init: RequestInit = {}) =>
    fetch(`${base}/api/v1/workspaces/${id}/files/${path}`, {
      ...init,
      headers: { authorization: auth[key], ...(init.headers as Record<string, string>) },
    });

  it('B shows the workspace’s agent as connected, though A holds it', async () => {
    const res = await fetch(`${baseB}/api/v1/workspaces/${id}`, { headers: { authorization: auth.b } });
    expect(await res.json()).toMatchObject({ status: 'running', agentConnected: true });
    const list = await fetch(`${baseB}/api/v1/workspaces`, { headers: { authorization: auth.b } });
    const items = ((await list.json()) as { items: { id: string; agentConnected: boolean }[] }).items;
    expect(items.find((w) => w.id === id)?.agentConnected).toBe(true);
  });

  it('a terminal opened through B echoes, is listed on B and A, and reattaches through A', async () => {
    const t = await openTerminal(`${ws(baseB)}/api/v1/workspaces/${id}/terminals?cols=90&rows=20`, auth.b);
    expect(t.ready).toMatchObject({ type: 'ready', cols: 90, rows: 20 });
    t.ws.send(Buffer.from('echo relayed-$((40+2))\r'));
    await t.waitFor(/relayed-42/);
    for (const base of [baseA, baseB]) {
      const res = await fetch(`${base}/api/v1/workspaces/${id}/terminals`, {
        headers: { authorization: auth.b },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: unknown[] }).items).toEqual([
        expect.objectContaining({ id: t.ready.terminalId, cols: 90, rows: 20, viewers: 1 }),
      ]);
    }
    t.ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    t.ws.send(Buffer.from('stty size\r'));
    await t.waitFor(/40 120/);
    const again = await openTerminal(
      `${ws(baseA)}/api/v1/workspaces/${id}/terminals?terminalId=${t.ready.terminalId}`,
      auth.a,
    );
    await again.waitFor(/relayed-42/);
    // A bad frame is answered by the holder's code, through the bridge, as on one replica.
    t.ws.send(JSON.stringify({ type: 'resize', cols: 100000, rows: 1 }));
    await t.waitFor(/bad_message/);
    t.ws.send(JSON.stringify({ type: 'close' }));
    await again.waitFor(/"type":"exit"/);
    const closed = await new Promise<number>((resolve) => t.ws.once('close', resolve));
    expect(closed).toBe(1000);
  });

  it('a terminal id that is not open closes with 4404 through B too', async () => {
    const gone = new WebSocket(`${ws(baseB)}/api/v1/workspaces/${id}/terminals?terminalId=nope`, {
      headers: { authorization: auth.b },
    });
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      gone.once('close', (c, r) => resolve([c, r.toString()])),
    );
    expect([code, reason]).toEqual([4404, 'terminal not found or closed']);
  });

  it('a file written through B is read through A and B, byte for byte, with its ETag', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const put = await files(baseB, 'b', 'big/blob.bin', { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    const etag = put.headers.get('etag');
    expect(etag).toBeTruthy();
    for (const [base, key] of [
      [baseA, 'a'],
      [baseB, 'b'],
    ] as const) {
      const got = await files(base, key, 'big/blob.bin');
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe(etag);
      expect(sha(Buffer.from(await got.arrayBuffer()))).toBe(sha(bytes));
    }
    // A stale If-Match through B is refused by the agent on A, with the same 412 as locally.
    const stale = await files(baseB, 'b', 'big/blob.bin', {
      method: 'PUT',
      body: 'x',
      headers: { 'if-match': '"stale"' },
    });
    expect(stale.status).toBe(412);
  });

  it('uploads (multipart) and directory archives go through B', async () => {
    const form = new FormData();
    form.append('file', new Blob(['first file\n']), 'one.txt');
    form.append('file', new Blob(['second file\n']), 'two.txt');
    const up = await files(baseB, 'b', 'up', { method: 'POST', body: form });
    expect(up.status).toBe(200);
    expect(
      ((await up.json()) as { items: { path: string }[] }).items.map((i: { path: string }) => i.path),
    ).toEqual(['up/one.txt', 'up/two.txt']);
    const read = await files(baseA, 'a', 'up/two.txt');
    expect(await read.text()).toBe('second file\n');
    const archive = await files(baseB, 'b', 'up?download=true');
    expect(archive.status).toBe(200);
    expect(archive.headers.get('content-type')).toBe('application/gzip');
    const tar = gunzipSync(Buffer.from(await archive.arrayBuffer())).toString('latin1');
    expect(tar).toContain('one.txt');
    expect(tar).toContain('first file');
  });

  it('a watch opened through B reports a file written through A', async () => {
    // The directory exists before the watch starts (a watch of a missing path is an error).
    expect((await files(baseA, 'a', 'w/seed.txt', { method: 'PUT', body: 'seed' })).status).toBe(200);
    const watch = new WebSocket(`${ws(baseB)}/api/v1/workspaces/${id}/watch?path=w`, {
      headers: { authorization: auth.b },
    });
    const messages: { type: string; changes?: { path: string }[] }[] = [];
    watch.on('message', (d) => messages.push(JSON.parse(String(d))));
    await waitFor(async () => messages.some((m) => m.type === 'ready'));
    expect((await files(baseA, 'a', 'w/changed.txt', { method: 'PUT', body: 'x' })).status).toBe(200);
    await waitFor(async () => messages.some((m) => m.changes?.some((c) => c.path === 'w/changed.txt')));
    watch.close();
  });

  it('a bad query is refused by B before any relay, naming the field', async () => {
    const refused = await new Promise<{ status: number; body: string }>((resolve) => {
      const sock = new WebSocket(`${ws(baseB)}/api/v1/workspaces/${id}/terminals?cols=wide`, {
        headers: { authorization: auth.b },
      });
      sock.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      sock.on('open', () => resolve({ status: 101, body: '' }));
      sock.on('error', () => {});
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('cols');
  });

  it('losing access on B closes the bridged terminal with 4401; the agent leaving A closes one with 1012', async () => {
    const known = new Set((await b.services.tokens.listForUser(owner.id)).map((r) => r.id));
    const bearer = await b.bearer(owner);
    const revoked = await openTerminal(
      `${ws(baseB)}/api/v1/workspaces/${id}/terminals?cols=80&rows=24`,
      bearer,
    );
    const revokedClose = new Promise<number>((resolve) => revoked.ws.once('close', resolve));
    const tokenId = (await b.services.tokens.listForUser(owner.id)).find((r) => !known.has(r.id))
      ?.id as string;
    await b.services.tokens.revoke(tokenId);
    expect(await revokedClose).toBe(4401);

    const kept = await openTerminal(`${ws(baseB)}/api/v1/workspaces/${id}/terminals?cols=80&rows=24`, auth.b);
    const keptClose = new Promise<[number, string]>((resolve) =>
      kept.ws.once('close', (c, r) => resolve([c, r.toString()])),
    );
    a.services.runtime.hub.connection(id)?.peer.close(1001, 'test: agent goes away');
    const [code, reason] = await keptClose;
    expect(code).toBe(1012);
    expect(reason).toMatch(/reconnect/);
    // The agent dials A again; the terminal it kept is there to reattach to through B.
    await waitFor(async () => a.services.runtime.hub.connection(id) !== undefined);
    const back = await openTerminal(
      `${ws(baseB)}/api/v1/workspaces/${id}/terminals?terminalId=${kept.ready.terminalId}`,
      auth.b,
    );
    back.ws.send(Buffer.from('echo back-$((1+1))\r'));
    await back.waitFor(/back-2/);
    back.ws.close();
  });

  it('/metrics counts the relays, the pubsub lag and the agents of each replica', async () => {
    await a.services.replicas.beat();
    await b.services.clusterMetrics.probe();
    const metrics = async (base: string) => (await fetch(`${base}/metrics`)).text();
    let onB = '';
    await waitFor(async () => /rc_pubsub_lag_seconds_count [1-9]/.test((onB = await metrics(baseB))));
    const count = (text: string, labels: string) =>
      Number(new RegExp(`rc_relay_duration_seconds_count\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    for (const kind of ['request', 'socket', 'stream', 'list'])
      expect(count(onB, `kind="${kind}",outcome="ok"`), kind).toBeGreaterThan(0);
    expect(onB).toMatch(/^rc_agent_connections 0$/m);
    expect(onB).toContain(`rc_cluster_agent_connections{replica="${a.services.replicas.id}"} 1`);
    expect(await metrics(baseA)).toMatch(/^rc_agent_connections 1$/m);
  });

  it('a replica removed as dead claims its agents again when it registers again', async () => {
    // What another replica does when A misses three beats (a stall): A's row and agent rows go.
    const db = b.services.db.kysely;
    await db.deleteFrom('replicas').where('id', '=', a.services.replicas.id).execute();
    await db.deleteFrom('agent_connections').where('replica_id', '=', a.services.replicas.id).execute();
    expect(await b.services.relay.holder(id)).toBeUndefined();
    await a.services.replicas.beat();
    expect((await b.services.relay.holder(id))?.replicaId).toBe(a.services.replicas.id);
  });

  it('the internal socket routes refuse unsigned and forged callers, audited', async () => {
    for (const what of ['channel', 'terminals', 'watch'] as const) {
      const url = `${ws(baseA)}${relaySocketPath(id, what)}`;
      for (const headers of [
        {},
        { 'x-rc-cluster-timestamp': String(Date.now()), 'x-rc-cluster-signature': 'f'.repeat(64) },
      ]) {
        const status = await new Promise<number>((resolve) => {
          const sock = new WebSocket(url, { headers });
          sock.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          sock.on('open', () => resolve(101));
          sock.on('error', () => {});
        });
        expect(status, `${what} ${Object.keys(headers).length}`).toBe(401);
      }
    }
    const { rows } = await a.services.auditStore.query({ action: 'cluster.request', limit: 50 } as never);
    expect(
      rows.filter((r) => r.result === 'denied' && (r.detail ?? '').includes('/channel')).length,
    ).toBeGreaterThanOrEqual(2);
  });
});

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
