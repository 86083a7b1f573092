// Three real replicas on one PostgreSQL, this time behind real nginx (round-robin, WebSocket
// upgrades, no stickiness): access changes made on one replica hold on the others within the
// second, live sockets included; two replicas starting one workspace at once start it once; and a
// workspace's queue runs one task at a time whichever replicas the tasks were sent to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WS_UNAUTHORIZED } from '../../sdk/limits.js';
import type { Task } from '../../sdk/taskWire.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { type Cluster, type ClusterUser, startCluster } from '../support/cluster.js';
import { ApiError, call, untilTask, watchTask } from '../support/clusterViewer.js';
import type { Scenario } from '../support/modelStub.js';
import { TEST_PASSWORD } from '../support/testApp.js';

const steps = (n: number, delayMs: number): Scenario => ({
  turns: [
    ...Array.from({ length: n }, (_, i) => ({
      content: [{ type: 'tool_use' as const, name: 'Glob', input: { pattern: `*q${i}*` } }],
      delayMs,
    })),
    { content: [{ type: 'text' as const, text: 'Done.' }], delayMs },
  ],
});
const done = (t: Task) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);

describe('three replicas behind nginx: access changes, starts and the queue', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({
      lb: 'nginx',
      // Several members' workspaces stay running across these tests on the one local node
      // (this machine's 2 cores): small ones, so placement has room for each.
      flags: {
        'isolation.resourceLimits': { cpu: '0.25', memory: '1G', disk: '10G' },
        'pooling.maxTasksPerInstance': 50,
      },
      scenarios: {
        warm: steps(0, 0),
        q0: steps(3, 200),
        q1: steps(3, 200),
        q2: steps(3, 200),
        watched: steps(30, 500),
      },
    });
  }, 90_000);
  afterAll(async () => {
    if (process.env.RC_TEST_CLUSTER_LOGS) console.error(c?.describe(100_000));
    await c?.close();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(c?.describe());
  });

  const status = (base: string, auth: string, path = '/api/v1/me') =>
    call(base, auth, 'GET', path).then(
      () => 200,
      (err: unknown) => (err instanceof ApiError ? err.status : 0),
    );
  const everywhere = (auth: string) => Promise.all(c.replicas.map((r) => status(r.url, auth)));

  it('a token revoked on A is refused on B and C within the same second', async () => {
    const user = await c.member();
    // Each replica has seen (and may cache) the token.
    expect(await everywhere(user.auth)).toEqual([200, 200, 200]);
    const [a, b, cc] = c.replicas;
    if (!a || !b || !cc) throw new Error('three replicas');
    await call(a.url, user.auth, 'DELETE', `/api/v1/tokens/${user.tokenId}`);
    const revokedAt = Date.now();
    // Poll B and C until refused; both must be refusing well inside one second.
    for (const r of [b, cc]) {
      while ((await status(r.url, user.auth)) !== 401) {
        expect(Date.now() - revokedAt, `replica ${r.name} still takes the token`).toBeLessThan(1000);
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(await everywhere(user.auth)).toEqual([401, 401, 401]);
  });

  const login = async (base: string, email: string) => {
    const res = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: TEST_PASSWORD }),
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((h) => h.startsWith('rc_session='));
    if (!cookie) throw new Error('no session cookie');
    return cookie.split(';')[0] as string;
  };
  const withCookie = (base: string, cookie: string) =>
    fetch(`${base}/api/v1/me`, { headers: { cookie } }).then((r) => r.status);

  it('a user disabled on B is signed out everywhere: sessions, tokens and open sockets', async () => {
    const user: ClusterUser = await c.member();
    const [a, b, cc] = c.replicas;
    if (!a || !b || !cc) throw new Error('three replicas');
    const onA = await login(a.url, user.email);
    const onC = await login(cc.url, user.email);
    expect([
      await withCookie(a.url, onA),
      await withCookie(cc.url, onC),
      await withCookie(b.url, onA),
    ]).toEqual([200, 200, 200]);
    // A live socket on C, held with the user's token: a task's event stream.
    const task = await call<Task>(c.lb.url, user.auth, 'POST', '/api/v1/tasks', {
      repository: c.git.url('third'),
      prompt: '[scenario:watched] go',
      permissionMode: 'default',
    });
    const viewer = await watchTask(cc.url, user.auth, task.id);
    await call(b.url, c.admin.auth, 'PATCH', `/api/v1/users/${user.id}`, { disabled: true });
    const disabledAt = Date.now();
    await expect.poll(() => viewer.closed(), { timeout: 1000, interval: 10 }).toBe(WS_UNAUTHORIZED);
    expect(await withCookie(a.url, onA)).toBe(401);
    expect(await withCookie(cc.url, onC)).toBe(401);
    expect(await everywhere(user.auth)).toEqual([401, 401, 401]);
    expect(Date.now() - disabledAt).toBeLessThan(1000);
    // Signing in again is refused too, on any replica.
    const again = await fetch(`${a.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: TEST_PASSWORD }),
    });
    expect(again.status).toBe(403);
    await call(c.lb.url, c.admin.auth, 'POST', `/api/v1/tasks/${task.id}/cancel`).catch(() => undefined);
  });

  it('two replicas starting the same workspace at once start it once', async () => {
    const me = await c.member();
    const ws = await call<Workspace>(c.lb.url, me.auth, 'POST', '/api/v1/workspaces', {
      repository: c.git.url('other'),
      start: false,
    });
    expect(ws.status).toBe('pending');
    const [a, b] = c.replicas;
    if (!a || !b) throw new Error('replicas');
    const answers = await Promise.all(
      [a, b, a, b].map((r) => call<Workspace>(r.url, me.auth, 'POST', `/api/v1/workspaces/${ws.id}/start`)),
    );
    for (const w of answers) expect(['starting', 'running']).toContain(w.status);
    await expect
      .poll(
        async () => (await call<Workspace>(c.lb.url, me.auth, 'GET', `/api/v1/workspaces/${ws.id}`)).status,
        {
          timeout: 40_000,
        },
      )
      .toBe('running');
    // Settled: nothing starts it again later either.
    await new Promise((r) => setTimeout(r, 1500));
    expect(c.driver.starts(ws.id)).toBe(1);
    // Cloned once, into the one box.
    expect(readFileSync(join(c.driver.boxDir(ws.id), 'workspace', 'README.md'), 'utf8')).toBe('# other\n');
  }, 60_000);

  it('the per-workspace queue runs one task at a time across replicas', async () => {
    const me = await c.member();
    // The workspace runs first, so that each replica's queue pump runs when its task arrives.
    const warm = await call<Task>(c.lb.url, me.auth, 'POST', '/api/v1/tasks', {
      repository: c.git.url('app'),
      prompt: '[scenario:warm] go',
      permissionMode: 'default',
    });
    expect((await untilTask(c.lb.url, me.auth, warm.id, done, 60_000)).status).toBe('succeeded');
    // Tasks for one workspace sent through each replica at once.
    const tasks = await Promise.all(
      c.replicas.map((r, i) =>
        call<Task>(r.url, me.auth, 'POST', '/api/v1/tasks', {
          repository: c.git.url('app'),
          prompt: `[scenario:q${i}] go`,
          permissionMode: 'default',
        }),
      ),
    );
    expect(new Set(tasks.map((t) => t.workspaceId)).size).toBe(1);
    const finals = await Promise.all(tasks.map((t) => untilTask(c.lb.url, me.auth, t.id, done, 90_000)));
    for (const f of finals) expect(f.status, f.statusReason ?? '').toBe('succeeded');
    // Each ran once, and no two of them ran at the same time: their model requests never interleave.
    const spans = tasks.map((_, i) => {
      const at = c.stub.requests.filter((r) => r.main && r.scenario === `q${i}`).map((r) => r.at);
      return { first: Math.min(...at), last: Math.max(...at) };
    });
    for (let i = 0; i < 3; i++)
      expect(c.stub.requests.filter((r) => r.main && r.scenario === `q${i}` && r.turn === 0)).toHaveLength(1);
    const sorted = [...spans].sort((x, y) => x.first - y.first);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]?.first ?? 0).toBeGreaterThan(sorted[i - 1]?.last ?? Number.POSITIVE_INFINITY);
    // And the store agrees: their started/finished times do not overlap.
    const rows = await c.query<{ started_at: string; finished_at: string }>(
      'select started_at, finished_at from tasks where id = any($1) order by started_at',
      [tasks.map((t) => t.id)],
    );
    for (let i = 1; i < rows.length; i++)
      expect(new Date(rows[i]?.started_at ?? 0).getTime()).toBeGreaterThanOrEqual(
        new Date(rows[i - 1]?.finished_at ?? 0).getTime(),
      );
  }, 120_000);
});
