import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Team } from '../../../sdk/wire.js';
import { createTestApp, type TestApp } from '../../../test/support/testApp.js';
import { engines } from '../../../test/support/testDb.js';

describe.each(engines)('team routes on %s', (engine) => {
  let t: TestApp;
  let admin: { authorization: string };

  beforeAll(async () => {
    t = await createTestApp(engine);
    admin = { authorization: await t.bearer(await t.user('admin')) };
  });
  afterAll(() => t.close());

  it('creates a team, adds members, lets its maintainer manage it, and deletes it', async () => {
    const maint = await t.user('member');
    const dev = await t.user('member');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/teams',
      headers: admin,
      payload: { name: 'Platform', description: 'infra' },
    });
    expect(created.statusCode).toBe(201);
    const team = created.json() as Team;
    expect(team).toMatchObject({ name: 'Platform', description: 'infra', members: [] });

    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/teams/${team.id}/members/${maint.id}`,
      headers: admin,
      payload: { role: 'maintainer' },
    });
    expect((put.json() as Team).members).toEqual([
      expect.objectContaining({ userId: maint.id, role: 'maintainer' }),
    ]);

    const maintAuth = { authorization: await t.bearer(maint) };
    const add = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/teams/${team.id}/members/${dev.id}`,
      headers: maintAuth,
      payload: {},
    });
    expect(add.statusCode).toBe(200);
    expect((add.json() as Team).members.map((m) => m.userId).sort()).toEqual([maint.id, dev.id].sort());

    const devAuth = { authorization: await t.bearer(dev) };
    const mine = await t.app.inject({ url: '/api/v1/teams', headers: devAuth });
    expect((mine.json() as { items: Team[] }).items.map((x) => x.id)).toEqual([team.id]);
    const me = await t.app.inject({ url: '/api/v1/me', headers: devAuth });
    expect(me.json().teams).toEqual([{ id: team.id, name: 'Platform', role: 'member' }]);

    const removeDev = () =>
      t.app.inject({
        method: 'DELETE',
        url: `/api/v1/teams/${team.id}/members/${dev.id}`,
        headers: maintAuth,
      });
    expect((await removeDev()).statusCode).toBe(204);
    expect((await removeDev()).statusCode).toBe(404);
    expect((await t.app.inject({ url: `/api/v1/teams/${team.id}`, headers: devAuth })).statusCode).toBe(404);

    const renamed = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/teams/${team.id}`,
      headers: admin,
      payload: { name: 'Platform Eng' },
    });
    expect(renamed.json()).toMatchObject({ name: 'Platform Eng' });
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/teams/${team.id}`, headers: admin })).statusCode,
    ).toBe(204);
    expect((await t.app.inject({ url: `/api/v1/teams/${team.id}`, headers: admin })).statusCode).toBe(404);
  });

  it('adding an unknown user to a team → 404', async () => {
    const team = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/teams',
        headers: admin,
        payload: { name: 'Ghosts' },
      })
    ).json() as Team;
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/teams/${team.id}/members/no-such-user`,
      headers: admin,
      payload: {},
    });
    expect(res.statusCode).toBe(404);
  });
});
