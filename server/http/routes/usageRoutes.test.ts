import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../../sdk/usageWire.js';
import type { ErrorEnvelope } from '../../../sdk/wire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';
import { UsageStore } from '../../store/usageStore.js';
import type { UserRow } from '../../store/userStore.js';

describe.each(engines)('usage routes on %s', (engine) => {
  let t: TestApp;
  let ann: UserRow;
  let bob: UserRow;
  let admin: UserRow;

  beforeAll(async () => {
    t = await createTestApp(engine);
    ann = await t.user('member');
    bob = await t.user('member');
    admin = await t.user('admin');
    const usage = new UsageStore(t.services.db, t.clock);
    const ws = async (id: string, ownerId: string, repository: string) =>
      t.services.workspaces.createOrGet({
        id,
        ownerId,
        repository,
        name: id,
        driver: 'local',
        cpu: 1,
        memoryBytes: 1,
        pids: 1,
      });
    await ws('ws-ann', ann.id, 'https://git.test/acme/api');
    await ws('ws-bob', bob.id, 'https://git.test/acme/web');
    const row = (userId: string, workspaceId: string, taskId: string | undefined, costUsd: number) =>
      usage.insert({
        userId,
        workspaceId,
        taskId,
        model: 'claude-sonnet-4-5',
        inputTokens: 100,
        outputTokens: 10,
        cacheCreationTokens: 1,
        cacheReadTokens: 1000,
        costUsd,
      });
    await row(ann.id, 'ws-ann', 'task-1', 0.5);
    await row(ann.id, 'ws-ann', 'task-1', 0.25);
    await row(bob.id, 'ws-bob', undefined, 2);
  });
  afterAll(() => t.close());

  const get = async (user: UserRow, qs = '') =>
    t.app.inject({ url: `/api/v1/usage${qs}`, headers: { authorization: await t.bearer(user) } });

  it('shows members only their own usage, this month by default', async () => {
    const res = await get(ann);
    expect(res.statusCode).toBe(200);
    const report = res.json() as UsageReport;
    const now = t.clock.now();
    expect(report.from).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
    expect(report.to).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());
    expect(report.items).toEqual([
      {
        key: ann.id,
        label: ann.email,
        inputTokens: 200,
        outputTokens: 20,
        cacheCreationTokens: 2,
        cacheReadTokens: 2000,
        costUsd: 0.75,
        requests: 2,
      },
    ]);
    const byRepo = (await get(bob, '?groupBy=repository')).json() as UsageReport;
    expect(byRepo.items.map((i) => [i.key, i.costUsd])).toEqual([['https://git.test/acme/web', 2]]);
  });

  it("shows admins everyone's, grouped by user, task or repository", async () => {
    const byUser = (await get(admin, '?groupBy=user')).json() as UsageReport;
    expect(byUser.items.map((i) => [i.key, i.label, i.costUsd, i.requests])).toEqual([
      [bob.id, bob.email, 2, 1],
      [ann.id, ann.email, 0.75, 2],
    ]);
    const byTask = (await get(admin, '?groupBy=task')).json() as UsageReport;
    expect(byTask.items.map((i) => [i.key, i.costUsd])).toEqual([
      [null, 2],
      ['task-1', 0.75],
    ]);
    const byRepo = (await get(admin, '?groupBy=repository')).json() as UsageReport;
    expect(byRepo.items.map((i) => i.key)).toEqual([
      'https://git.test/acme/web',
      'https://git.test/acme/api',
    ]);
  });

  it('takes a period as dates or times; the end is exclusive', async () => {
    const now = t.clock.now();
    const tomorrow = new Date(now.getTime() + 86_400_000).toISOString();
    const until = (
      await get(admin, `?from=2020-01-01&to=${encodeURIComponent(now.toISOString())}`)
    ).json() as UsageReport;
    expect(until.items).toEqual([]);
    expect(until.from).toBe('2020-01-01T00:00:00.000Z');
    const through = (
      await get(admin, `?from=2020-01-01&to=${encodeURIComponent(tomorrow)}`)
    ).json() as UsageReport;
    expect(through.items).toHaveLength(2);
  });

  it.each([
    ['an unknown grouping', '?groupBy=team', 'querystring.groupBy'],
    ['a malformed date', '?from=yesterday', 'querystring.from'],
    ['a period that ends before it starts', '?from=2026-02-01&to=2026-01-01', 'querystring.from'],
    ['an empty period', '?from=2026-02-01&to=2026-02-01', 'querystring.from'],
    ['an unknown parameter', '?userId=x', 'querystring.userId'],
  ])('refuses %s with 400', async (_label, qs, path) => {
    const res = await get(ann, qs);
    expect(res.statusCode).toBe(400);
    const body = res.json() as ErrorEnvelope;
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.fields?.map((f) => f.path)).toContain(path);
  });

  it('needs a signed-in caller', async () => {
    expect((await t.app.inject({ url: '/api/v1/usage' })).statusCode).toBe(401);
  });
});
