// Test stores on both engines. Every PostgreSQL store lives in its own schema, named for the
// process and a random suffix, so parallel test files and parallel CI runs never collide.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, openDb } from '../../server/store/db.js';

export type Engine = 'sqlite' | 'postgres';
export const engines: Engine[] = ['sqlite', 'postgres'];

export const PG_URL = process.env.RC_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDb {
  db: Db;
  /** The PostgreSQL schema (postgres engine only). */
  schema?: string;
  /** Close the store and drop its schema. */
  cleanup(): Promise<void>;
}

export function uniqueSchema(): string {
  return `rc_t_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

/**
 * A second store on the PostgreSQL schema of another test store: what a second replica of the
 * same installation opens. Its cleanup only closes it; the first store's cleanup drops the schema.
 */
export async function openSharedTestDb(schema: string): Promise<TestDb> {
  const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 4 });
  return { db, schema, cleanup: () => db.close() };
}

export async function openTestDb(engine: Engine, sqlitePath = ':memory:'): Promise<TestDb> {
  if (engine === 'sqlite') {
    const db = await openDb({ sqlitePath });
    return { db, cleanup: () => db.close() };
  }
  const schema = uniqueSchema();
  const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 4 });
  return {
    db,
    schema,
    async cleanup() {
      await db.close();
      await dropSchema(schema);
    },
  };
}
