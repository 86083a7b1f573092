// Opens the store on SQLite (the embedded default) or PostgreSQL and brings its schema up to date.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import { migrations } from './migrations.js';
import type { Database } from './schema.js';
import { withStatementCache } from './sqliteStatementCache.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StoreOptions {
  /** postgres:// URL; when absent, SQLite at `sqlitePath`. */
  databaseUrl?: string | undefined;
  /** SQLite file (":memory:" for a throwaway store). */
  sqlitePath?: string;
  /** PostgreSQL schema to use, created when missing (tests give each run its own). */
  schema?: string | undefined;
  poolSize?: number;
}

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /** PostgreSQL schema in use, when not the server default. */
  readonly schema?: string | undefined;
  /**
   * Migrations the database has but this code does not know (a newer version migrated it). The
   * store still opens, without migrating, so tools can read it; a server refuses to run on it
   * (server/cluster/schemaVersion.ts).
   */
  newerMigrations: string[];
  /**
   * A new, unconnected client outside the pool (PostgreSQL only), for a session that must stay on
   * one connection, such as LISTEN. The caller connects and ends it.
   */
  dedicatedClient?: (applicationName: string) => pg.Client;
  /**
   * PostgreSQL only: a connected client of its own, outside the pool, for state that lives as
   * long as a session (advisory locks, server/cluster/leaderLock.ts). The caller ends it.
   */
  openSession?(): Promise<pg.Client>;
  /**
   * SQLite only: runs `fn` on the raw better-sqlite3 connection while holding Kysely's one
   * connection, so no Kysely query or transaction runs meanwhile. For a hot path that is cheaper
   * as a synchronous transaction of prepared single-row statements than as Kysely's built,
   * varying multi-row SQL (TaskStore.appendEventBatch). `fn` must not await.
   */
  onSqlite?<T>(fn: (raw: SqliteDatabase.Database) => T): Promise<T>;
  /** Cheap round trip for /readyz. Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Open the store and run pending migrations. Throws when the database cannot be reached or migrated. */
export async function openDb(options: StoreOptions): Promise<Db> {
  const db = options.databaseUrl ? await openPostgres(options) : openSqlite(options.sqlitePath ?? ':memory:');
  try {
    const schema = await migrationSchema(db);
    db.newerMigrations = await appliedButUnknown(db, schema);
    if (db.newerMigrations.length === 0) await migrate(db, schema);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  // WAL lets readers run beside the writer; synchronous=NORMAL under WAL still never loses a
  // committed transaction to a process crash (only, at worst, the last ones to a power cut).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  return {
    kysely,
    dialect: 'sqlite',
    newerMigrations: [],
    onSqlite: (fn) => kysely.connection().execute(async () => fn(sqlite)),
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

async function openPostgres(options: StoreOptions): Promise<Db> {
  const schema = options.schema;
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  if (schema) {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
    } finally {
      await client.end();
    }
  }
  const searchPath = schema ? { options: `-c search_path=${schema}` } : {};
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 10,
    ...searchPath,
    // bigint (int8) ids fit in a JS number for any table this platform will hold.
    types: {
      getTypeParser: (oid: number, format?: string) =>
        oid === 20
          ? (v: string) => Number(v)
          : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format),
    } as pg.CustomTypesConfig,
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // A connection of its own: idle most of the time (LISTEN, a held advisory lock), so keepalive
  // is what notices that it died.
  const dedicatedClient = (applicationName: string, extra: pg.ClientConfig = {}) =>
    new pg.Client({
      connectionString: options.databaseUrl,
      application_name: applicationName,
      ...searchPath,
      keepAlive: true,
      ...extra,
    });
  return {
    kysely,
    dialect: 'postgres',
    newerMigrations: [],
    schema,
    dedicatedClient,
    async openSession() {
      // A dead peer must not leave a session (and the locks it holds) looking alive for long.
      const client = dedicatedClient('rclaude-leader', { query_timeout: 10_000 });
      await client.connect();
      return client;
    },
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

/**
 * The schema that holds (or will hold) Kysely's migration table on PostgreSQL. Kysely, told no
 * schema, takes a `kysely_migration` table in ANY schema as its own, so a database where another
 * schema (another Kysely app, a test run) has one made a fresh default-schema install fail with
 * 'relation "kysely_migration" does not exist'. Unqualified names resolve to current_schema(),
 * which is where earlier versions created the table, so naming it keeps existing installs as they are.
 */
async function migrationSchema(db: Db): Promise<string | undefined> {
  if (db.dialect !== 'postgres') return undefined;
  if (db.schema) return db.schema;
  const { rows } = await sql<{ name: string | null }>`select current_schema() as name`.execute(db.kysely);
  return rows[0]?.name ?? undefined;
}

/** Names in Kysely's migration table that are not in our list; none on a fresh database. */
async function appliedButUnknown(db: Db, schema: string | undefined): Promise<string[]> {
  if (!(await hasMigrationTable(db, schema))) return [];
  const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db.kysely);
  return rows.map((r) => r.name).filter((name) => !(name in migrations));
}

/** A missing-schema error about another schema than ours: one dropped while Kysely looked. */
function droppedElsewhere(err: unknown, schema: string | undefined): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '3F000' && !(schema && (e.message ?? '').includes(`"${schema}"`));
}

/**
 * Whether Kysely's migration table exists in the store's schema. Asked of that one schema only:
 * Kysely's introspection reads every table of the database, and fails ("schema … does not
 * exist") when another schema is dropped while it reads, e.g. another installation's or another
 * test's, so a replica starting beside such a drop would refuse to start.
 */
async function hasMigrationTable(db: Db, schema: string | undefined): Promise<boolean> {
  if (db.dialect === 'postgres') {
    const { rows } = await sql<{ found: boolean }>`select exists (
        select 1 from information_schema.tables
         where table_schema = coalesce(${schema ?? null}, current_schema()) and table_name = 'kysely_migration'
      ) as found`.execute(db.kysely);
    return rows[0]?.found === true;
  }
  const { rows } =
    await sql`select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'`.execute(
      db.kysely,
    );
  return rows.length > 0;
}

async function migrate(db: Db, schema: string | undefined): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, make] of Object.entries(migrations)) out[name] = make(db.dialect);
      return out;
    },
  };
  // Kysely looks for its bookkeeping tables across all schemas; name ours (see migrationSchema).
  const migrator = new Migrator({
    db: db.kysely,
    provider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's check for its own tables reads every table of the database; another schema dropped
  // meanwhile fails it with "schema … does not exist" (3F000) though nothing of ours is wrong.
  // Nothing ran then (the check comes first), so it is tried again.
  for (let attempt = 0; attempt < 5 && error && droppedElsewhere(error, schema); attempt++) {
    await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(
      `database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`,
    );
  }
}
