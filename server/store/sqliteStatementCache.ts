// Kysely's SQLite driver calls better-sqlite3's prepare() for every query it runs
// (node_modules/kysely/dist/esm/dialect/sqlite/sqlite-driver.js), and compiling the SQL costs more
// than running it for the small lookups that every request makes (about 20 µs against 5 µs for a
// token by hash). Our queries come from a fixed set of builders with every value bound as a
// parameter, so there are few distinct SQL texts: keep their compiled statements.
import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Enough for every query the server builds; texts that vary (IN lists) are evicted oldest first. */
const DEFAULT_MAX_STATEMENTS = 500;

/**
 * `db` as Kysely's SqliteDialect wants it, with statements reused by SQL text. Reuse is safe:
 * Kysely runs one query (or transaction, or stream) at a time on its single SQLite connection, so
 * a cached statement is never run while it is still busy, and SQLite re-prepares a statement by
 * itself when a migration changed the schema under it.
 */
export function withStatementCache(db: Database.Database, max = DEFAULT_MAX_STATEMENTS): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql) {
      let stmt = statements.get(sql);
      if (stmt) {
        // Move to the back: the Map's insertion order is the eviction order.
        statements.delete(sql);
      } else {
        stmt = db.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, stmt);
      return stmt;
    },
    close() {
      statements.clear();
      db.close();
    },
  };
}
