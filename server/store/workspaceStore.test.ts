import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines, openTestDb, type TestDb } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { UserStore } from './userStore.js';
import { WorkspaceStore } from './workspaceStore.js';

describe.each(engines)('WorkspaceStore (%s)', (engine) => {
  let tdb: TestDb;
  let store: WorkspaceStore;
  let ownerId: string;
  const clock = new ManualClock();
  beforeEach(async () => {
    tdb = await openTestDb(engine);
    store = new WorkspaceStore(tdb.db, clock);
    ownerId = (
      await new UserStore(tdb.db, clock).create({
        email: 'o@example.test',
        name: 'o',
        role: 'member',
        passwordHash: null,
      })
    ).id;
  });
  afterEach(async () => {
    await tdb.cleanup();
  });
  const input = (id: string, repository: string) => ({
    id,
    ownerId,
    repository,
    name: 'app',
    driver: 'local',
    cpu: 0.5,
    memoryBytes: 6 * 1024 ** 3,
    pids: 256,
  });

  it('creates once per (owner, repository) and hands back the existing row', async () => {
    const first = await store.createOrGet(input('w1', 'https://x.test/a'));
    const second = await store.createOrGet(input('w2', 'https://x.test/a'));
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, row: { id: 'w1' } });
    const row = await store.byId('w1');
    expect(Number(row?.memory_bytes)).toBe(6 * 1024 ** 3);
    expect(Number(row?.cpu)).toBe(0.5);
  });

  it('moves status only from the expected states and stamps times', async () => {
    await store.createOrGet(input('w1', 'https://x.test/a'));
    expect(await store.transition('w1', ['running'], 'stopping')).toBe(false);
    expect(await store.transition('w1', ['pending'], 'starting', { status_reason: 'go' })).toBe(true);
    expect(await store.transition('w1', ['starting'], 'running', { status_reason: null })).toBe(true);
    let row = await store.byId('w1');
    expect(row?.status).toBe('running');
    expect(row?.started_at).toBeTruthy();
    expect(await store.transition('w1', ['running'], 'failed', { status_reason: 'boom' })).toBe(true);
    row = await store.byId('w1');
    expect(row).toMatchObject({ status: 'failed', status_reason: 'boom' });
    expect(row?.stopped_at).toBeTruthy();
    expect((await store.listActive()).length).toBe(0);
  });

  it('records heartbeats and deletes', async () => {
    await store.createOrGet(input('w1', 'https://x.test/a'));
    await store.recordHeartbeat(
      'w1',
      { cpuPercent: 1, memoryBytes: 2, diskBytes: 3, processes: 4 },
      'healthy',
    );
    expect(JSON.parse((await store.byId('w1'))?.usage ?? '{}')).toEqual({
      cpuPercent: 1,
      memoryBytes: 2,
      diskBytes: 3,
      processes: 4,
    });
    await store.delete('w1');
    expect(await store.byId('w1')).toBeUndefined();
  });
});
