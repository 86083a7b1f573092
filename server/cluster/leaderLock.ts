// Work that must run on one replica at a time (the reconcile pass), over PostgreSQL advisory
// locks; on SQLite there is one process (dataDirLock.ts), so it always leads.
//
// Why a session lock (`pg_try_advisory_lock`) on a connection of its own, held while leading,
// rather than `pg_try_advisory_xact_lock` per pass: a transaction-scoped lock would keep a
// transaction open for the whole of a pass that mostly waits on the runtime driver, holding a
// pool connection "idle in transaction"; and leadership would move between replicas from one pass
// to the next, while the reconciler keeps per-process state (its restart window) that is only
// meaningful on one replica. A session lock stays with the leader until it stops or its
// connection dies (the server drops the lock with the session, so a killed leader frees it at
// once), and the others' next attempt takes over. Before each pass the leader checks its
// connection still answers: a lost connection means a lost lock.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';

export interface LeaderLock {
  readonly name: string;
  /**
   * Whether this process leads `name` now, taking the lock when it is free. Never throws: a
   * database that does not answer means not leading. Concurrent calls share one attempt.
   */
  tryLead(): Promise<boolean>;
  /** Gives leadership up (clean shutdown); the next replica to try takes it. Idempotent. */
  release(): Promise<void>;
}

export type Exclusive<T> = { ran: true; value: T } | { ran: false };

/** The leader locks of one store, by name; `close` releases them all. */
export class LeaderLocks {
  private readonly locks = new Map<string, LeaderLock>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  leaderLock(name: string): LeaderLock {
    let lock = this.locks.get(name);
    if (!lock) {
      const open = this.db.openSession?.bind(this.db);
      lock = open ? new PgLeaderLock(name, open, this.log) : soleProcessLock(name);
      this.locks.set(name, lock);
    }
    return lock;
  }

  /** Runs `fn` when this process leads `name`; otherwise skips it and says so. */
  async runExclusive<T>(name: string, fn: () => Promise<T>): Promise<Exclusive<T>> {
    if (!(await this.leaderLock(name).tryLead())) return { ran: false };
    return { ran: true, value: await fn() };
  }

  /**
   * Takes `name` for as long as the caller needs it, unless another replica holds it now
   * (undefined). Unlike `leaderLock`, the lock is not kept for good: it lives on a connection of
   * its own until the returned release is called (or that connection dies, e.g. with the
   * process). For per-object work such as one workspace's start, which the starting replica and
   * another replica's reconcile pass may both try. On SQLite (one process) it is always free.
   */
  async tryHold(name: string): Promise<(() => Promise<void>) | undefined> {
    const open = this.db.openSession?.bind(this.db);
    if (!open) return async () => undefined;
    const lock = new PgLeaderLock(name, open, this.log, 'debug');
    if (await lock.tryLead()) return () => lock.release();
    await lock.release();
    return undefined;
  }

  /** Runs `fn` while holding `name` (tryHold), or skips it when another replica holds it. */
  async runOnce<T>(name: string, fn: () => Promise<T>): Promise<Exclusive<T>> {
    const release = await this.tryHold(name);
    if (!release) return { ran: false };
    try {
      return { ran: true, value: await fn() };
    } finally {
      await release();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.locks.values()].map((l) => l.release()));
  }
}

function soleProcessLock(name: string): LeaderLock {
  return { name, tryLead: async () => true, release: async () => undefined };
}

class PgLeaderLock implements LeaderLock {
  private session: pg.Client | undefined;
  private leading = false;
  private attempt: Promise<boolean> | undefined;
  private released = false;

  constructor(
    readonly name: string,
    private readonly open: () => Promise<pg.Client>,
    private readonly log: Logger,
    /** Level of the "this replica leads" line: info for long-held leadership, debug for one call. */
    private readonly leadLevel: 'info' | 'debug' = 'info',
  ) {}

  tryLead(): Promise<boolean> {
    this.attempt ??= this.lead()
      .catch((err) => {
        this.log.warn({ err, lock: this.name }, 'could not take the leader lock');
        this.drop();
        return false;
      })
      .finally(() => {
        this.attempt = undefined;
      });
    return this.attempt;
  }

  async release(): Promise<void> {
    this.released = true;
    await this.attempt;
    const session = this.session;
    this.session = undefined;
    this.leading = false;
    // Ending the session drops its advisory locks.
    await session?.end().catch(() => undefined);
  }

  private async lead(): Promise<boolean> {
    if (this.released) return false;
    if (this.session && this.leading) {
      await this.session.query('select 1');
      return true;
    }
    this.session ??= await this.connect();
    // Keyed by schema as well as name: installations in one database's schemas (tests, side by
    // side deployments) each have their own leader.
    const { rows } = await this.session.query<{ ok: boolean }>(
      `select pg_try_advisory_lock(hashtextextended(current_schema() || '/' || $1, 0)) as ok`,
      [this.name],
    );
    this.leading = rows[0]?.ok === true;
    if (this.leading) this.log[this.leadLevel]({ lock: this.name }, 'this replica leads');
    return this.leading;
  }

  private async connect(): Promise<pg.Client> {
    const session = await this.open();
    const lost = (err?: Error) => {
      if (this.session !== session) return;
      if (this.leading) this.log.warn({ err, lock: this.name }, 'lost the leader lock with its connection');
      this.drop();
    };
    session.on('error', lost);
    session.on('end', () => lost());
    return session;
  }

  private drop(): void {
    const session = this.session;
    this.session = undefined;
    this.leading = false;
    session?.end().catch(() => undefined);
  }
}
