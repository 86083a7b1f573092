// Which schema a replica binary knows, and the refusal to run against a database migrated past it.
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { migrations } from '../store/migrations.js';

/** The newest migration this binary knows: its schema version. */
export const SCHEMA_VERSION = Object.keys(migrations).sort().at(-1) as string;

/** The newest migration the database has applied (this binary's own on a fresh database). */
export async function databaseSchemaVersion(db: Db): Promise<string> {
  const { rows } = await sql<{ name: string | null }>`select max(name) as name from kysely_migration`.execute(
    db.kysely,
  );
  return rows[0]?.name ?? SCHEMA_VERSION;
}

/**
 * Refuses to go on when the database has migrations this binary does not know: a newer version
 * migrated it, and running against tables and constraints it was never written for could corrupt
 * them. @throws Error with a sentence naming both schema versions.
 */
export async function ensureSchemaKnown(db: Db): Promise<void> {
  if (db.newerMigrations.length === 0) return;
  const theirs = await databaseSchemaVersion(db);
  throw new Error(
    `This replica's schema version is ${SCHEMA_VERSION}, older than the database's ${theirs} ` +
      `(migrations it does not know: ${db.newerMigrations.join(', ')}); it will not run against a schema ` +
      'it does not know. Start the newer version of rclaude instead.',
  );
}
