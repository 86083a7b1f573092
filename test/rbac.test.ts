// Runs the authorization matrix (test/support/rbacMatrix.ts) against the real app on both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRole } from '../sdk/wire.js';
import { NeverStartingDriver } from '../server/drivers/fakeDrivers.js';
import type { UserRow } from '../server/store/userStore.js';
import { type Caller, type MatrixRow, rbacMatrix, type Statuses, type Whose } from './support/rbacMatrix.js';
import { createTestApp, type TestApp } from './support/testApp.js';
import { engines } from './support/testDb.js';

const callers: Caller[] = ['owner', 'admin', 'member', 'viewer', 'anonymous'];

function expected(row: MatrixRow, whose: Whose, caller: Caller): number {
  const e = row.expect as { own?: Statuses; other?: Statuses } & Partial<Statuses>;
  return e.own && e.other ? (e[whose]?.[caller] as number) : (row.expect as Statuses)[caller];
}

describe.each(engines)('RBAC matrix on %s', (engine) => {
  let t: TestApp;
  let other: UserRow;

  beforeAll(async () => {
    // Workspace starts in the matrix must not launch real sandboxes: this driver's boxes never
    // come up, which is all an authorization check needs.
    t = await createTestApp(engine, {
      services: { driver: new NeverStartingDriver() },
      // The matrix starts many workspaces of one "other" user; the quota is tested on its own.
      flags: { 'sessions.maxPerUser': 10_000 },
    });
    other = await t.user('member');
  });
  afterAll(() => t.close());

  it('has a row for every route in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/api/v1/openapi.json' })).json() as {
      paths: Record<string, object>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const covered = new Set(rbacMatrix.map((r) => r.route));
    expect(documented.filter((r) => !covered.has(r))).toEqual([]);
    expect([...covered].filter((r) => !documented.includes(r))).toEqual([]);
  });

  for (const row of rbacMatrix) {
    for (const whose of ['own', 'other'] as const) {
      if (whose === 'other' && !('own' in row.expect)) continue;
      const label = `${row.route}${row.variant ? ` (${row.variant})` : ''}${'own' in row.expect ? ` on ${whose}` : ''}`;
      it(label, async () => {
        const got: Partial<Record<Caller, number>> = {};
        const want: Partial<Record<Caller, number>> = {};
        for (const caller of callers) {
          // A fresh caller per request: some rows disable or demote users.
          const actor = caller === 'anonymous' ? undefined : await t.user(caller as OrgRole);
          const headers = actor ? { authorization: await t.bearer(actor) } : {};
          const req = await row.prepare(t, actor, whose, other);
          const [method] = row.route.split(' ');
          const res = await t.app.inject({
            method: method as 'GET',
            url: req.url,
            headers,
            ...(req.payload !== undefined ? { payload: req.payload as object } : {}),
          });
          got[caller] = res.statusCode;
          want[caller] = expected(row, whose, caller);
        }
        expect(got).toEqual(want);
      });
    }
  }
});
