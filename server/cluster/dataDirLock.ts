// SQLite keeps the store in one file that one server process may use: a second `rclaude serve` on
// the same data dir must refuse to start rather than run beside the first. The lock is SQLite's
// own exclusive lock (a POSIX record lock) on `serve.lock`, held by an open transaction for as long
// as the process lives: the kernel drops it when the process dies, even by kill -9, so no stale
// file can block a restart and no pid can be mistaken for a live one. `serve.pid` next to it only
// names the holder in the refusal.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

export class DataDirLock {
  private constructor(
    private readonly lock: SqliteDatabase.Database,
    private readonly pidFile: string,
  ) {}

  /**
   * Takes the data dir for this process.
   * @throws Error naming the data dir and the other process's pid when another process holds it.
   */
  static acquire(dataDir: string): DataDirLock {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    const pidFile = join(dir, 'serve.pid');
    const lock = new SqliteDatabase(join(dir, 'serve.lock'), { timeout: 0 });
    try {
      lock.pragma('journal_mode = OFF');
      lock.exec('begin exclusive');
    } catch (err) {
      lock.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      throw new Error(
        `Another rclaude serve (${holder(pidFile)}) is already using the data dir ${dir}: with SQLite ` +
          'one server process owns a data dir. Stop that one first, give this one another --data-dir, ' +
          'or put the replicas on PostgreSQL (database.url).',
      );
    }
    writeFileSync(pidFile, `${process.pid}\n`);
    return new DataDirLock(lock, pidFile);
  }

  /** Gives the data dir up (clean shutdown). Idempotent. */
  release(): void {
    if (!this.lock.open) return;
    rmSync(this.pidFile, { force: true });
    this.lock.close();
  }
}

function holder(pidFile: string): string {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0) return `pid ${pid}`;
  } catch {
    // it is still writing the file, or removed it on its way out
  }
  return 'pid unknown';
}
