// The replica registry on both engines, on manual clocks: registration, heartbeats that publish
// the agent count, three missed beats and the row is removed by whoever sees it, deregistration,
// and the refusal to run against a schema newer than this binary knows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { T0, useStore } from '../../test/support/storeTestKit.js';
import { dropSchema, engines, PG_URL, uniqueSchema } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import type { Config } from '../config/configSchema.js';
import { loadConfig } from '../config/loadConfig.js';
import { AgentConnectionStore } from '../store/agentConnectionStore.js';
import { type Db, openDb } from '../store/db.js';
import { ReplicaRegistry, replicaAddress } from './replicaRegistry.js';
import { SCHEMA_VERSION } from './schemaVersion.js';

const BEAT_MS = 5_000;
const log = pino({ level: 'silent' });

describe.each(engines)('replica registry on %s', (engine) => {
  const ctx = useStore(engine);
  const made: ReplicaRegistry[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((r) => r.stop()));
    await ctx.db.kysely.deleteFrom('replicas').execute();
    await ctx.db.kysely.deleteFrom('agent_connections').execute();
  });

  const registry = (clock = new ManualClock(new Date(T0)), agents = () => 0) => {
    const agentConnections = new AgentConnectionStore(ctx.db, clock);
    const r = new ReplicaRegistry({
      db: ctx.db,
      clock,
      log,
      version: '9.9.9',
      heartbeatMs: BEAT_MS,
      agents,
      agentConnections,
    });
    made.push(r);
    return { r, clock };
  };

  it('registers at start with its address, version and schema version, and deregisters at stop', async () => {
    const { r } = registry();
    expect(r.self.alive).toBe(false);
    await r.start('http://10.0.0.1:8080');
    expect(await r.live()).toEqual([
      {
        id: r.id,
        address: 'http://10.0.0.1:8080',
        version: '9.9.9',
        schemaVersion: SCHEMA_VERSION,
        agents: 0,
        startedAt: T0,
        heartbeatAt: T0,
        alive: true,
      },
    ]);
    expect(SCHEMA_VERSION).toBe('0011_lifecycle');
    await r.stop();
    await r.stop();
    expect(await r.list()).toEqual([]);
  });

  it('publishes the agent count and the time with every heartbeat', async () => {
    let agents = 2;
    const { r, clock } = registry(undefined, () => agents);
    await r.start('http://a:1');
    agents = 5;
    clock.advance(BEAT_MS);
    await r.beat();
    const [row] = await r.list();
    expect(row).toMatchObject({ agents: 5, heartbeatAt: new Date(Date.parse(T0) + BEAT_MS).toISOString() });
  });

  it.runIf(engine === 'postgres')(
    'replicas see each other; after three missed beats one is dead, and whoever sees it removes it',
    async () => {
      const a = registry();
      const b = registry();
      await a.r.start('http://a:1');
      await b.r.start('http://b:1');
      expect((await b.r.live()).map((x) => x.id).sort()).toEqual([a.r.id, b.r.id].sort());

      // a stops beating (its clock stands still, as a killed process's would); b goes on.
      for (let i = 0; i < 3; i++) {
        b.clock.advance(BEAT_MS);
        await b.r.beat();
      }
      expect((await b.r.live()).map((x) => x.id).sort()).toEqual([a.r.id, b.r.id].sort());
      b.clock.advance(1);
      const seen = await b.r.list();
      expect(seen.find((x) => x.id === a.r.id)?.alive).toBe(false);
      expect((await b.r.list()).map((x) => x.id)).toEqual([b.r.id]);

      // a wakes up from its stall: its next beat finds its row gone and registers again.
      a.clock.advance(4 * BEAT_MS);
      await a.r.beat();
      expect((await b.r.live()).map((x) => x.id).sort()).toEqual([a.r.id, b.r.id].sort());
    },
  );

  it.runIf(engine === 'postgres')(
    'the agents a replica holds are found while it lives and forgotten with it',
    async () => {
      const a = registry();
      const b = registry();
      await a.r.start('http://a:1');
      await b.r.start('http://b:1');
      const store = new AgentConnectionStore(ctx.db, b.clock);
      await store.claim('ws-1', a.r.id);
      await store.claim('ws-2', a.r.id);
      await store.claim('ws-2', b.r.id);
      expect(await store.holder('ws-1', b.r.liveSince())).toEqual({
        replicaId: a.r.id,
        address: 'http://a:1',
      });
      // Released only by the replica that holds it: a's late disconnect leaves b's row alone.
      await store.release('ws-2', a.r.id);
      expect((await store.holder('ws-2', b.r.liveSince()))?.replicaId).toBe(b.r.id);

      for (let i = 0; i < 3; i++) {
        b.clock.advance(BEAT_MS);
        await b.r.beat();
      }
      b.clock.advance(1);
      // Not live any more: absent even before anyone removed the row.
      expect(await store.holder('ws-1', b.r.liveSince())).toBeUndefined();
      await b.r.list();
      const rows = await ctx.db.kysely.selectFrom('agent_connections').select('workspace_id').execute();
      expect(rows.map((r) => r.workspace_id)).toEqual(['ws-2']);
      await b.r.stop();
      expect(await ctx.db.kysely.selectFrom('agent_connections').selectAll().execute()).toEqual([]);
    },
  );

  it.runIf(engine === 'sqlite')(
    'holds just this process: rows left by a process that died go at start',
    async () => {
      const dead = registry();
      await dead.r.start('http://old:1');
      const { r } = registry();
      await r.start('http://new:1');
      expect((await r.list()).map((x) => x.address)).toEqual(['http://new:1']);
    },
  );
});

describe.each(engines)('a database migrated by a newer version on %s', (engine) => {
  let scratch: string | undefined;
  let schema: string | undefined;
  afterEach(async () => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    if (schema) await dropSchema(schema);
  });

  it('refuses to register, naming both schema versions', async () => {
    if (engine === 'sqlite') scratch = mkdtempSync(join(tmpdir(), 'rc-rep-'));
    else schema = uniqueSchema();
    const opts = scratch
      ? { sqlitePath: join(scratch, 'db.sqlite') }
      : { databaseUrl: PG_URL, schema, poolSize: 2 };
    const first = await openDb(opts);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')`.execute(
      first.kysely,
    );
    await first.close();
    const db: Db = await openDb(opts);
    try {
      const r = new ReplicaRegistry({
        db,
        clock: new ManualClock(),
        log,
        version: '1',
        heartbeatMs: 1000,
        agents: () => 0,
        agentConnections: new AgentConnectionStore(db, new ManualClock()),
      });
      await expect(r.start('http://x:1')).rejects.toThrow(
        `This replica's schema version is ${SCHEMA_VERSION}, older than the database's 9999_from_the_future`,
      );
      expect(await db.kysely.selectFrom('replicas').selectAll().execute()).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('replicaAddress', () => {
  const config = (flags: Record<string, unknown>): Config => loadConfig({ env: {}, flags });
  it('is server.replicaUrl when set, else the listen address', () => {
    expect(replicaAddress(config({ 'server.replicaUrl': 'https://r1.internal:8443' }), 8080)).toBe(
      'https://r1.internal:8443',
    );
    expect(replicaAddress(config({ 'server.host': '10.1.2.3' }), 9000)).toBe('http://10.1.2.3:9000');
    expect(replicaAddress(config({ 'server.host': '::1' }), 9000)).toBe('http://[::1]:9000');
    expect(replicaAddress(config({ 'server.host': '0.0.0.0' }), 9000)).not.toContain('0.0.0.0');
  });
});
