// SQLite keeps one server per data dir: a second `rclaude serve` on it refuses to start, naming
// the data dir and the pid of the one running; a server killed with SIGKILL leaves nothing that
// blocks the next start. And a server older than its database's schema refuses to run on it.
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../server/cluster/schemaVersion.js';
import { type ServeChild, startServe } from './support/rclaude.js';

const FAST_ARGON2_ENV = { RC_AUTH__ARGON2__MEMORY_COST: '1024', RC_AUTH__ARGON2__TIME_COST: '1' };

let scratch: string;
let dataDir: string;
const started: ServeChild[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rc-serve-single-'));
  dataDir = join(scratch, 'data');
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await rm(scratch, { recursive: true, force: true });
});

function serve(name: string): ServeChild {
  const home = join(scratch, name);
  mkdirSync(home, { recursive: true });
  const s = startServe(home, ['--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], FAST_ARGON2_ENV);
  started.push(s);
  return s;
}

const exitCode = (s: ServeChild) =>
  new Promise<number | null>((resolve) => {
    if (s.child.exitCode !== null) resolve(s.child.exitCode);
    else s.child.once('exit', resolve);
  });

describe('rclaude serve on SQLite', () => {
  it('refuses a second server on the same data dir, naming the dir and the pid of the first', async () => {
    const first = serve('first');
    await first.until(/listening on/);
    const second = serve('second');
    expect(await exitCode(second)).not.toBe(0);
    expect(second.output().stderr).toContain(
      `rclaude: Another rclaude serve (pid ${first.child.pid}) is already using the data dir ${dataDir}`,
    );
    expect(second.output().stdout).not.toMatch(/listening on/);
    expect(first.child.exitCode).toBeNull();

    // Killed without a chance to clean up: the lock goes with the process.
    first.child.kill('SIGKILL');
    await exitCode(first);
    const third = serve('third');
    await third.until(/listening on/);
    expect(await third.stop()).toBe(0);
  });

  it('refuses to run on a database migrated by a newer version, naming both schema versions', async () => {
    const sqlite = new SqliteDatabase(join(dataDir, 'remote-claude.db'));
    sqlite
      .prepare("insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')")
      .run();
    sqlite.close();
    const older = serve('older');
    expect(await exitCode(older)).not.toBe(0);
    expect(older.output().stderr).toContain(
      `schema version is ${SCHEMA_VERSION}, older than the database's 9999_from_the_future`,
    );
  });
});
