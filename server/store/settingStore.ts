import type { Clock } from '../clock.js';
import type { Db } from './db.js';

/** Installation-wide key/value settings (e.g. the generated cookie-signing key). */
export class SettingStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db.kysely
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  /**
   * Return the stored value, or store `make()` and return it. Safe when several replicas race:
   * the first insert wins and every caller gets that value.
   */
  async getOrCreate(key: string, make: () => string): Promise<string> {
    const existing = await this.get(key);
    if (existing !== undefined) return existing;
    await this.db.kysely
      .insertInto('settings')
      .values({ key, value: make(), updated_at: this.clock.now().toISOString() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const value = await this.get(key);
    if (value === undefined) throw new Error(`setting ${key} vanished right after it was written`);
    return value;
  }
}
