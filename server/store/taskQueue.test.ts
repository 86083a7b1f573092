// The per-workspace queue's one-turn-at-a-time rule under two replicas: two stores on their own
// PostgreSQL pools (as two processes would have), racing to start the two queued tasks of one
// workspace, start exactly one of them each round; and on SQLite the same rule holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskRow } from '../../test/support/taskRow.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';

describe.each(['postgres', 'sqlite'] as const)('startTurn on %s', (engine) => {
  let a: TestApp;
  let b: TestApp | undefined;

  beforeAll(async () => {
    a = await createTestApp(engine);
    if (engine === 'postgres') b = await createTestApp('postgres', { sameStoreAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('starts one of two queued tasks of a workspace, never both, when two replicas race', async () => {
    for (let round = 0; round < 15; round++) {
      // createTaskRow makes one workspace per owner and repository: a new owner each round.
      const ownerId = (await a.user('member')).id;
      const first = await createTaskRow(a, ownerId);
      const workspaceId = (await a.services.tasks.byId(first))?.workspace_id as string;
      const second = (
        await a.services.tasks.create({
          ownerId,
          workspaceId,
          repository: 'https://example.test/repo',
          prompt: 'second',
          permissionMode: 'default',
        })
      ).id;
      const other = b ?? a;
      const started = await Promise.all([
        a.services.tasks.startTurn(first, workspaceId),
        other.services.tasks.startTurn(second, workspaceId),
      ]);
      expect(started.filter(Boolean), `round ${round}`).toHaveLength(1);
      const statuses = await Promise.all(
        [first, second].map(async (id) => (await a.services.tasks.byId(id))?.status),
      );
      expect(statuses.sort()).toEqual(['queued', 'starting']);
      // The same task again, or the other while one is active: no.
      expect(await a.services.tasks.startTurn(started[0] ? first : second, workspaceId)).toBe(false);
      expect(await other.services.tasks.startTurn(started[0] ? second : first, workspaceId)).toBe(false);
    }
  });
});
