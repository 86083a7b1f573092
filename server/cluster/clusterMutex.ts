// Mutual exclusion across replicas for short critical sections that must not interleave, such as
// placing a workspace on a Docker node (read every node's load, then create the container there):
// two replicas doing it at once would both see the same free room and over-commit the node.
//
// On PostgreSQL: a session advisory lock (`pg_advisory_lock`, which waits) on a connection of its
// own for the section, unlocked and closed after it; a killed holder's lock goes with its
// connection. Within a process, callers queue first (one connection at a time). On SQLite there
// is one process (dataDirLock.ts), so the in-process queue is all there is.
import type pg from 'pg';
import type { Db } from '../store/db.js';

/** How long a caller waits for the lock before it gives up with an error. */
const WAIT_MS = 60_000;

export class ClusterMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly db: Pick<Db, 'openSession'>) {}

  /** Runs `fn` while no other caller on any replica runs a section of the same `name`. */
  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.acrossReplicas(name, fn));
    const tail = next.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return next;
  }

  private async acrossReplicas<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const open = this.db.openSession?.bind(this.db);
    if (!open) return fn();
    const session: pg.Client = await open();
    try {
      await session.query(`set statement_timeout = ${WAIT_MS}`);
      await session.query(
        `select pg_advisory_lock(hashtextextended(current_schema() || '/mutex/' || $1, 0))`,
        [name],
      );
      await session.query('set statement_timeout = 0');
      return await fn();
    } finally {
      // Closing the session releases its lock, also when the unlock cannot be sent.
      await session.end().catch(() => undefined);
    }
  }
}
