// One reconciler at a time across replicas: two control planes (services on their own pools) on
// one PostgreSQL schema, with a driver that makes every pass slow and counts how many overlap.
// The first to try leads until it stops or its connection dies; then the other takes over.
import { mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, openTestDb, PG_URL, uniqueSchema } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { loadConfig } from '../config/loadConfig.js';
import { SlowDriver } from '../drivers/fakeDrivers.js';
import type { RuntimeRef } from '../drivers/runtimeDriver.js';
import { createServices, type Services } from '../services.js';
import { type Db, openDb } from '../store/db.js';
import { LeaderLocks } from './leaderLock.js';

const log = pino({ level: 'silent' });
const passes = { inFlight: 0, most: 0 };

/** Every pass lists the boxes first: this list takes a while and counts the passes that overlap. */
class SlowListDriver extends SlowDriver {
  listed = 0;
  override async list(): Promise<RuntimeRef[]> {
    this.listed += 1;
    passes.inFlight += 1;
    passes.most = Math.max(passes.most, passes.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 30));
    passes.inFlight -= 1;
    return super.list();
  }
}

interface Replica {
  db: Db;
  services: Services;
  driver: SlowListDriver;
  dataDir: string;
}

describe('the reconcile pass across replicas on one PostgreSQL schema', () => {
  const schema = uniqueSchema();
  const replicas: Replica[] = [];

  const replica = async (): Promise<Replica> => {
    const dataDir = mkdtempSync('/tmp/rc-lead-');
    const config = loadConfig({ env: {}, flags: { 'log.level': 'silent', dataDir } });
    const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 2 });
    const driver = new SlowListDriver();
    const services = createServices(config, db, new ManualClock(), { driver, log });
    const r = { db, services, driver, dataDir };
    replicas.push(r);
    return r;
  };
  const stop = async (r: Replica) => {
    await r.services.runtime.close();
    await r.services.leaders.close();
    await r.db.close();
    rmSync(r.dataDir, { recursive: true, force: true });
    replicas.splice(replicas.indexOf(r), 1);
  };
  /** Both replicas reconcile at once, `rounds` times; which of them ran a pass, per round. */
  const race = async (rs: Replica[], rounds: number) => {
    const ran: string[][] = [];
    for (let i = 0; i < rounds; i++) {
      const reports = await Promise.all(rs.map((r) => r.services.runtime.reconciler.runOnce()));
      ran.push(rs.filter((_, j) => reports[j]?.ran).map((r) => r.services.replicas.id));
    }
    return ran;
  };

  afterAll(async () => {
    for (const r of [...replicas]) await stop(r);
    await dropSchema(schema);
  });

  it('runs on one replica at a time; when the leader stops, the other takes over', async () => {
    const a = await replica();
    const b = await replica();
    expect((await a.services.runtime.reconciler.runOnce()).ran).toBe(true);
    const rounds = await race([a, b], 5);
    expect(rounds).toEqual(Array(5).fill([a.services.replicas.id]));
    expect(passes.most).toBe(1);
    expect(b.driver.listed).toBe(0);

    await stop(a);
    expect(await race([b], 1)).toEqual([[b.services.replicas.id]]);
    expect(b.driver.listed).toBe(1);
  });

  it('a leader whose connection dies loses the lock, and another replica takes it', async () => {
    const [b] = replicas as [Replica];
    const c = await replica();
    expect(await race([b, c], 2)).toEqual([[b.services.replicas.id], [b.services.replicas.id]]);

    // The leader's session goes away as it would with a crashed host or a dropped connection.
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      // Only the session holding this schema's reconcile lock (its key split into two oids).
      const { rows } = await admin.query<{ killed: boolean }>(
        `select pg_terminate_backend(l.pid) as killed
           from pg_locks l, (select hashtextextended($1 || '/reconcile', 0) as k) key
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and l.classid::bigint = (key.k >> 32) & 4294967295 and l.objid::bigint = key.k & 4294967295`,
        [schema],
      );
      expect(rows.some((r) => r.killed)).toBe(true);
    } finally {
      await admin.end();
    }
    // Whichever tries first after the loss leads; never both at once.
    const after = await race([c, b], 3);
    expect(new Set(after.flat()).size).toBe(1);
    expect(after.every((round) => round.length === 1)).toBe(true);
    expect(passes.most).toBe(1);
  });
});

describe('leader locks on SQLite', () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await openTestDb('sqlite'));
  });
  afterAll(() => cleanup());

  it('always lead: there is one process', async () => {
    const a = new LeaderLocks(db, log);
    const b = new LeaderLocks(db, log);
    expect(await a.runExclusive('reconcile', async () => 1)).toEqual({ ran: true, value: 1 });
    expect(await b.runExclusive('reconcile', async () => 2)).toEqual({ ran: true, value: 2 });
    await a.close();
    await b.close();
  });
});

describe('LeaderLocks.runOnce: one call at a time across replicas', () => {
  const schema = uniqueSchema();
  const dbs: Db[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) dbs.push(await openDb({ databaseUrl: PG_URL, schema, poolSize: 2 }));
  });
  afterAll(async () => {
    for (const db of dbs) await db.close();
    await dropSchema(schema);
  });

  it('skips the call on one replica while another runs it, and gives the lock up after each call', async () => {
    const [a, b] = dbs.map((db) => new LeaderLocks(db, log));
    if (!a || !b) throw new Error('two replicas');
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = a.runOnce('workspace-start/w1', async () => {
      await held;
      return 'a';
    });
    // Give the first call time to take its lock.
    await new Promise((r) => setTimeout(r, 200));
    expect(await b.runOnce('workspace-start/w1', async () => 'b')).toEqual({ ran: false });
    // Another name is not held up.
    expect(await b.runOnce('workspace-start/w2', async () => 'b2')).toEqual({ ran: true, value: 'b2' });
    release();
    expect(await first).toEqual({ ran: true, value: 'a' });
    // Free again, on either replica; a throwing call gives it up too.
    await expect(
      b.runOnce('workspace-start/w1', async () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(await a.runOnce('workspace-start/w1', async () => 'again')).toEqual({ ran: true, value: 'again' });
    // No connection is left open by those calls.
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `select count(*)::int as n from pg_locks l join pg_stat_activity s on s.pid = l.pid
          where l.locktype = 'advisory' and s.application_name = 'rclaude-leader'
            and l.objid = (hashtextextended($1 || '/workspace-start/w1', 0) & 4294967295)::bigint::oid`,
        [schema],
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await client.end();
    }
  });
});
