// A workspace start in flight on one replica, and the reconcile pass of another (the leader),
// which cannot see that start: the pass leaves the workspace alone while the starter holds its
// start lock (LeaderLocks.tryHold), instead of failing it for a box that does not exist yet. Two
// control planes (services on their own pools) on one PostgreSQL schema, sharing a fake driver
// (network transport) whose create takes a while.
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dropSchema, PG_URL, uniqueSchema } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { loadConfig } from '../config/loadConfig.js';
import { NeverStartingDriver } from '../drivers/fakeDrivers.js';
import type { RuntimeRef, WorkspaceSpec } from '../drivers/runtimeDriver.js';
import { createServices, type Services } from '../services.js';
import { type Db, openDb } from '../store/db.js';
import { UserStore } from '../store/userStore.js';

/** A box whose creation (and stop) takes `createMs`; its agent never connects. */
class SlowCreateDriver extends NeverStartingDriver {
  constructor(
    dataDir: string,
    private readonly createMs: number,
  ) {
    super({ dataDir, kind: 'kubernetes', agentTransport: 'network' });
  }
  override async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    await new Promise((r) => setTimeout(r, this.createMs));
    return super.create(spec);
  }
  /** A stop that takes as long as a create (a box given its grace period). */
  override async stop(ref: RuntimeRef): Promise<void> {
    await new Promise((r) => setTimeout(r, this.createMs));
    return super.stop(ref);
  }
}

describe('a start in flight on one replica and the reconcile pass of another', () => {
  const schema = uniqueSchema();
  const dataDir = mkdtempSync('/tmp/rc-start-');
  const opened: { db: Db; services: Services }[] = [];
  const replica = async () => {
    const config = loadConfig({
      env: {},
      flags: {
        'log.level': 'silent',
        dataDir,
        'workspaces.startTimeout': 2,
        'server.publicUrl': 'http://127.0.0.1:1',
      },
    });
    const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 2 });
    const services = createServices(config, db, new ManualClock(), {
      driver: new SlowCreateDriver(dataDir, 1500),
      log: pino({ level: 'silent' }),
    });
    opened.push({ db, services });
    return services;
  };
  // Each test's replicas go with it, and with them the reconcile lock one of them leads.
  afterEach(async () => {
    for (const r of opened.splice(0)) {
      await r.services.runtime.close();
      await r.services.leaders.close();
      await r.db.close();
    }
  });
  afterAll(async () => {
    await dropSchema(schema);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves the workspace starting while the starter holds it, and reconciles it once the start is over', async () => {
    const starter = await replica();
    const leader = await replica();
    // The leader takes the reconcile lock first.
    expect((await leader.runtime.reconciler.runOnce()).ran).toBe(true);
    const owner = await new UserStore(leader.db, new ManualClock()).create({
      email: 'o@example.test',
      name: 'o',
      role: 'member',
      passwordHash: null,
    });
    const { row } = await starter.runtime.service.create(owner.id, {
      repository: 'https://git.example.test/a/race',
      start: false,
    });
    await starter.runtime.service.start(row.id);
    // The starter is still creating the box: the leader's pass must not call it missing.
    const during = await leader.runtime.reconciler.runOnce();
    expect(during.ran).toBe(true);
    expect(during.failed).toEqual([]);
    expect((await leader.workspaces.byId(row.id))?.status).toBe('starting');
    // A second start elsewhere while the first runs changes nothing either.
    await leader.runtime.service.start(row.id);
    // The agent never connects: the starter fails the start itself after its timeout, and lets go.
    await expect
      .poll(async () => (await leader.workspaces.byId(row.id))?.status, { timeout: 10_000 })
      .toBe('failed');
    // (Failing stops the box, which takes a while here, before the start lets go.)
    await expect.poll(() => leader.runtime.service.isFree('start', row.id), { timeout: 5000 }).toBe(true);
  });

  it('a start that finds the lock taken waits for the holder to write the row, instead of answering busy', async () => {
    const holder = await replica();
    const other = await replica();
    const owner = await new UserStore(holder.db, new ManualClock()).create({
      email: 'gap@example.test',
      name: 'gap',
      role: 'member',
      passwordHash: null,
    });
    const { row } = await holder.runtime.service.create(owner.id, {
      repository: 'https://git.example.test/a/gap',
      start: false,
    });
    // The moment between the holder taking the start lock and its row saying `starting`.
    const release = await holder.leaders.tryHold(`workspace-start/${row.id}`);
    if (!release) throw new Error('lock');
    const second = other.runtime.service.start(row.id);
    await new Promise((r) => setTimeout(r, 300));
    await holder.workspaces.transition(row.id, ['pending'], 'starting', {
      status_reason: 'Starting the sandbox',
    });
    await second;
    await release();
    expect((await other.workspaces.byId(row.id))?.status).toBe('starting');
    // And a holder that lets go without writing: the waiting start takes the lock and starts it.
    await holder.workspaces.transition(row.id, ['starting'], 'stopped', { status_reason: null });
    const again = await holder.leaders.tryHold(`workspace-start/${row.id}`);
    if (!again) throw new Error('lock');
    const third = other.runtime.service.start(row.id);
    await new Promise((r) => setTimeout(r, 300));
    await again();
    await third;
    expect((await other.workspaces.byId(row.id))?.status).toBe('starting');
    await expect
      .poll(async () => (await other.workspaces.byId(row.id))?.status, { timeout: 10_000 })
      .toBe('failed');
  });

  it('leaves a stop in flight on another replica alone, instead of finishing it as one cut short', async () => {
    const stopper = await replica();
    const leader = await replica();
    const owner = await new UserStore(leader.db, new ManualClock()).create({
      email: 'stop@example.test',
      name: 'stop',
      role: 'member',
      passwordHash: null,
    });
    const { row } = await stopper.runtime.service.create(owner.id, {
      repository: 'https://git.example.test/a/stopping',
      start: false,
    });
    await stopper.workspaces.transition(row.id, ['pending'], 'running', {
      status_reason: null,
      runtime_ref: JSON.stringify({ kind: 'kubernetes', workspaceId: row.id, data: {} }),
    });
    const stop = stopper.runtime.service.stop(row.id);
    await expect.poll(async () => (await leader.workspaces.byId(row.id))?.status).toBe('stopping');
    // The stopper is still in its driver stop: the leader's pass must not call it finished.
    const during = await leader.runtime.reconciler.runOnce();
    expect(during.ran).toBe(true);
    expect(during.stopped).toEqual([]);
    expect((await leader.workspaces.byId(row.id))?.status).toBe('stopping');
    expect(await leader.runtime.service.isFree('stop', row.id)).toBe(false);
    await stop;
    expect((await leader.workspaces.byId(row.id))?.status).toBe('stopped');
    expect(await leader.runtime.service.isFree('stop', row.id)).toBe(true);
  });
});
