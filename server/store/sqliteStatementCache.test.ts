import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { withStatementCache } from './sqliteStatementCache.js';

describe('withStatementCache', () => {
  let sqlite: SqliteDatabase.Database;
  afterEach(() => {
    if (sqlite.open) sqlite.close();
  });

  it('prepares each SQL text once', () => {
    sqlite = new SqliteDatabase(':memory:');
    const db = withStatementCache(sqlite);
    expect(db.prepare('select 1')).toBe(db.prepare('select 1'));
    expect(db.prepare('select 1')).not.toBe(db.prepare('select 2'));
  });

  it('evicts the statement used longest ago when full', () => {
    sqlite = new SqliteDatabase(':memory:');
    const db = withStatementCache(sqlite, 2);
    const one = db.prepare('select 1');
    const two = db.prepare('select 2');
    db.prepare('select 1');
    db.prepare('select 3');
    expect(db.prepare('select 1')).toBe(one);
    expect(db.prepare('select 2')).not.toBe(two);
  });

  it('a cached statement sees a column a migration added after it was prepared', () => {
    sqlite = new SqliteDatabase(':memory:');
    const db = withStatementCache(sqlite);
    db.prepare('create table t (a text)').run([]);
    db.prepare('insert into t (a) values (?)').run(['x']);
    expect(db.prepare('select * from t').all([])).toEqual([{ a: 'x' }]);
    db.prepare('alter table t add column b text').run([]);
    expect(db.prepare('select * from t').all([])).toEqual([{ a: 'x', b: null }]);
  });

  it('close() closes the database', () => {
    sqlite = new SqliteDatabase(':memory:');
    withStatementCache(sqlite).close();
    expect(sqlite.open).toBe(false);
  });
});
