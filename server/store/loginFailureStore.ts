import type { Db } from './db.js';

/** Failed sign-ins by key (see LoginThrottle), shared by every replica through the store. */
export class LoginFailureStore {
  constructor(private readonly db: Db) {}

  /** Record one failure at `atMs` under each key. */
  async add(keys: string[], atMs: number): Promise<void> {
    await this.db.kysely
      .insertInto('login_failures')
      .values(keys.map((key) => ({ key, failed_at_ms: atMs })))
      .execute();
  }

  /** The times of the latest `limit` failures under `key` after `afterMs`, newest first. */
  async latest(key: string, afterMs: number, limit: number): Promise<number[]> {
    const rows = await this.db.kysely
      .selectFrom('login_failures')
      .select('failed_at_ms')
      .where('key', '=', key)
      .where('failed_at_ms', '>', afterMs)
      .orderBy('failed_at_ms', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.failed_at_ms));
  }

  /** Forget every failure under `key`. */
  async clear(key: string): Promise<void> {
    await this.db.kysely.deleteFrom('login_failures').where('key', '=', key).execute();
  }

  /** Delete failures at or before `beforeMs`, under `keys` only when given. Returns how many went. */
  async prune(beforeMs: number, keys?: string[]): Promise<number> {
    let q = this.db.kysely.deleteFrom('login_failures').where('failed_at_ms', '<=', beforeMs);
    if (keys) q = q.where('key', 'in', keys);
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
