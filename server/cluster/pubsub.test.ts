// The pubsub contract on both implementations, and what only PostgreSQL has: the pooler
// self-test, reconnecting after the LISTEN connection dies, and channels kept apart per schema.
import { sql } from 'kysely';
import type pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../test/support/testDb.js';
import { MemoryPubsub } from './memoryPubsub.js';
import { type ListenConnection, PgPubsub, POOLER_SENTENCE } from './pgPubsub.js';
import { MAX_PAYLOAD_BYTES, type Pubsub, PubsubError } from './pubsub.js';

const log = pino({ level: 'silent' });

/** Resolves with the next `n` payloads on `channel`; rejects after `ms`. */
function received(pubsub: Pubsub, channel: string, n = 1, ms = 3_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`only ${got.length} of ${n} messages on ${channel} within ${ms} ms`));
    }, ms);
    const stop = pubsub.subscribe(channel, (p) => {
      got.push(p);
      if (got.length < n) return;
      clearTimeout(timer);
      stop();
      resolve(got);
    });
  });
}

/** A promise that `condition()` becomes true, polled; rejects after `ms`. */
async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const implementations: [string, (tdb: TestDb) => Pubsub][] = [
  ['MemoryPubsub', () => new MemoryPubsub(log)],
  ['PgPubsub', (tdb) => PgPubsub.forDb(tdb.db, log)],
];

describe.each(implementations)('%s', (name, make) => {
  let tdb: TestDb;
  let pubsub: Pubsub;
  beforeAll(async () => {
    tdb = await openTestDb(name === 'PgPubsub' ? 'postgres' : 'sqlite');
    pubsub = make(tdb);
    await pubsub.start();
  });
  afterAll(async () => {
    await pubsub.close();
    await tdb.cleanup();
  });

  it('delivers a payload to every subscriber of its channel and to no other', async () => {
    const other: string[] = [];
    const stopOther = pubsub.subscribe('other', (p) => other.push(p));
    const first = received(pubsub, 'news');
    const second = received(pubsub, 'news');
    await new Promise((r) => setTimeout(r, 50));
    await pubsub.publish('news', 'id-1');
    expect(await first).toEqual(['id-1']);
    expect(await second).toEqual(['id-1']);
    stopOther();
    expect(other).toEqual([]);
  });

  it('stops delivering after unsubscribe, and a failing handler does not stop the others', async () => {
    const late: string[] = [];
    const stop = pubsub.subscribe('quiet', (p) => late.push(p));
    const stopThrowing = pubsub.subscribe('quiet', () => {
      throw new Error('subscriber bug');
    });
    const next = received(pubsub, 'quiet', 2);
    await new Promise((r) => setTimeout(r, 50));
    await pubsub.publish('quiet', 'a');
    await until(() => late.length === 1);
    stop();
    await pubsub.publish('quiet', 'b');
    expect(await next).toEqual(['a', 'b']);
    expect(late).toEqual(['a']);
    stopThrowing();
  });

  it('refuses a payload over the NOTIFY limit with a sentence, and a bad channel name', async () => {
    await expect(pubsub.publish('big', 'x'.repeat(MAX_PAYLOAD_BYTES))).resolves.toBeUndefined();
    const err = await pubsub.publish('big', 'é'.repeat(4000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PubsubError);
    expect((err as Error).message).toMatch(/8000 bytes; the limit is 7999\. Publish ids/);
    await expect(pubsub.publish('Bad-Name', 'x')).rejects.toThrow(/not valid/);
    expect(() => pubsub.subscribe('', () => {})).toThrow(PubsubError);
  });
});

describe('PgPubsub on PostgreSQL', () => {
  let tdb: TestDb;
  const open: Pubsub[] = [];
  beforeAll(async () => {
    tdb = await openTestDb('postgres');
  });
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });
  afterAll(() => tdb.cleanup());

  /** PgPubsub on the test store, with quick reconnects; every LISTEN client it made is in `clients`. */
  function pgPubsub(opts: { wrap?: (c: pg.Client) => ListenConnection; selfTestTimeoutMs?: number } = {}) {
    const clients: pg.Client[] = [];
    const newClient = tdb.db.dedicatedClient as (name: string) => pg.Client;
    const pubsub = PgPubsub.forDb(tdb.db, log, {
      newConnection: () => {
        const c = newClient('rclaude-listen-test');
        clients.push(c);
        return opts.wrap ? opts.wrap(c) : c;
      },
      selfTestTimeoutMs: opts.selfTestTimeoutMs ?? 3_000,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    open.push(pubsub);
    return { pubsub, clients };
  }

  it('starts when its own notification comes back through the real server', async () => {
    const { pubsub } = pgPubsub();
    await expect(pubsub.start()).resolves.toBeUndefined();
  });

  it('refuses to start, with the pooler sentence, behind a fake pooler that swallows notifications', async () => {
    // What PgBouncer in transaction mode does: LISTEN succeeds, nothing ever arrives.
    let ended = false;
    const swallowing = (c: pg.Client): ListenConnection => ({
      connect: () => c.connect(),
      query: (text) => c.query(text),
      on: (event: string, listener: (...args: never[]) => void) =>
        event === 'notification' ? undefined : c.on(event as 'end', listener as () => void),
      end: () => {
        ended = true;
        return c.end();
      },
    });
    const { pubsub } = pgPubsub({ wrap: swallowing, selfTestTimeoutMs: 300 });
    const err = await pubsub.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PubsubError);
    expect((err as Error).message).toBe(POOLER_SENTENCE);
    // It hung up its LISTEN connection on the way out.
    expect(ended).toBe(true);
  });

  it('reconnects after its LISTEN connection is killed, LISTENs again and tells subscribers to resync', async () => {
    const { pubsub, clients } = pgPubsub();
    let resyncs = 0;
    const got: string[] = [];
    pubsub.subscribe('events', (p) => got.push(p), { onResync: () => resyncs++ });
    await pubsub.start();
    await pubsub.publish('events', 'before');
    await until(() => got.length === 1);

    const first = clients[0] as pg.Client;
    const pid = (first as unknown as { processID: number }).processID;
    await sql`select pg_terminate_backend(${pid})`.execute(tdb.db.kysely);
    await until(() => resyncs === 1);
    expect(clients.length).toBeGreaterThanOrEqual(2);
    await pubsub.publish('events', 'after');
    await until(() => got.length === 2);
    expect(got).toEqual(['before', 'after']);
  });

  it('keeps channels of different schemas apart', async () => {
    const other = await openTestDb('postgres');
    try {
      const mine = PgPubsub.forDb(tdb.db, log);
      const theirs = PgPubsub.forDb(other.db, log);
      open.push(mine, theirs);
      await mine.start();
      await theirs.start();
      const leaked: string[] = [];
      theirs.subscribe('shared', (p) => leaked.push(p));
      const mineGot = received(mine, 'shared');
      await new Promise((r) => setTimeout(r, 50));
      await mine.publish('shared', 'mine');
      expect(await mineGot).toEqual(['mine']);
      await new Promise((r) => setTimeout(r, 100));
      expect(leaked).toEqual([]);
    } finally {
      await other.cleanup();
    }
  });
});
