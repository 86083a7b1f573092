// Users' own secrets (today: their Anthropic API key), encrypted with AES-256-GCM before they
// reach the database. Each ciphertext is bound to its (user, name) as additional authenticated
// data, so a row copied onto another user's row does not decrypt.
//
// The key comes from `claude.secretsKey` when the operator sets it. Otherwise a random 32-byte key
// is generated once and kept in the `settings` table, like the cookie secret. A key in the same
// database only protects against a leak of the `secrets` rows alone (a partial dump, a copied
// table, a log of a query result); anyone holding a full backup or database access holds the key
// too. Operators who want the secrets to survive a database leak set `claude.secretsKey` from
// their secret manager. Rows written under the generated key stay readable after the operator
// sets one: the generated key is kept for decryption and new writes use the configured key.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { iso } from './schema.js';
import type { SettingStore } from './settingStore.js';

/** The settings row holding the generated key (base64), when no key is configured. */
export const SECRETS_KEY_SETTING = 'secrets_encryption_key';

const FORMAT = 'v1';

export interface SecretInfo {
  name: string;
  last4: string;
  createdAt: string;
  updatedAt: string;
}

/** A stored secret that no available key decrypts (the key changed or the row was altered). */
export class SecretUnreadableError extends Error {
  constructor(
    readonly userId: string,
    readonly secretName: string,
    reason: string,
  ) {
    super(`secret ${secretName} of user ${userId} cannot be decrypted: ${reason}`);
    this.name = 'SecretUnreadableError';
  }
}

interface Keyring {
  primary: { id: string; key: Buffer };
  byId: Map<string, Buffer>;
}

export interface SecretKeySource {
  /** `claude.secretsKey`: 32 bytes, base64 or base64url. */
  configured?: string | undefined;
  settings: SettingStore;
}

export class SecretStore {
  private keyring: Promise<Keyring> | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly keys: SecretKeySource,
  ) {}

  /** Stores (or replaces) a secret. */
  async put(userId: string, name: string, value: string): Promise<SecretInfo> {
    const ring = await this.ring();
    const now = this.clock.now().toISOString();
    const ciphertext = encrypt(ring.primary, aad(userId, name), value);
    const last4 = value.slice(-4);
    await this.db.kysely
      .insertInto('secrets')
      .values({ user_id: userId, name, ciphertext, last4, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'name']).doUpdateSet({ ciphertext, last4, updated_at: now }))
      .execute();
    const row = await this.info(userId, name);
    if (!row) throw new Error(`secret ${name} vanished right after it was written`);
    return row;
  }

  /** The plaintext, or undefined when none is saved. Throws SecretUnreadableError. */
  async get(userId: string, name: string): Promise<string | undefined> {
    const row = await this.db.kysely
      .selectFrom('secrets')
      .select('ciphertext')
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) return undefined;
    return decrypt(await this.ring(), aad(userId, name), row.ciphertext, (reason) => {
      return new SecretUnreadableError(userId, name, reason);
    });
  }

  async info(userId: string, name: string): Promise<SecretInfo | undefined> {
    const row = await this.db.kysely
      .selectFrom('secrets')
      .select(['name', 'last4', 'created_at', 'updated_at'])
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toInfo(row);
  }

  /** Names and last four characters of the user's secrets; never the values. */
  async list(userId: string): Promise<SecretInfo[]> {
    const rows = await this.db.kysely
      .selectFrom('secrets')
      .select(['name', 'last4', 'created_at', 'updated_at'])
      .where('user_id', '=', userId)
      .orderBy('name')
      .execute();
    return rows.map(toInfo);
  }

  /** Returns whether there was one to delete. */
  async delete(userId: string, name: string): Promise<boolean> {
    const res = await this.db.kysely
      .deleteFrom('secrets')
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  private ring(): Promise<Keyring> {
    this.keyring ??= this.loadKeys().catch((err: unknown) => {
      // A failed read (database down) must not stick: the next call tries again.
      this.keyring = undefined;
      throw err;
    });
    return this.keyring;
  }

  private async loadKeys(): Promise<Keyring> {
    const { configured, settings } = this.keys;
    const byId = new Map<string, Buffer>();
    const add = (encoded: string) => {
      const key = decodeKey(encoded);
      const id = keyId(key);
      byId.set(id, key);
      return { id, key };
    };
    if (configured) {
      const primary = add(configured);
      const generated = await settings.get(SECRETS_KEY_SETTING);
      if (generated !== undefined) add(generated);
      return { primary, byId };
    }
    const generated = await settings.getOrCreate(SECRETS_KEY_SETTING, () =>
      randomBytes(32).toString('base64'),
    );
    return { primary: add(generated), byId };
  }
}

function toInfo(row: {
  name: string;
  last4: string;
  created_at: string | Date;
  updated_at: string | Date;
}): SecretInfo {
  return { name: row.name, last4: row.last4, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at) };
}

function decodeKey(encoded: string): Buffer {
  // Node's base64 decoder reads the base64url alphabet too.
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32) throw new Error(`a secrets key must be 32 bytes, not ${key.length}`);
  return key;
}

/** Names the key a ciphertext was made with, without revealing anything usable about it. */
function keyId(key: Buffer): string {
  return createHash('sha256').update('remote-claude secrets key id\0').update(key).digest('hex').slice(0, 12);
}

function aad(userId: string, name: string): Buffer {
  return Buffer.from(`${userId}\0${name}`);
}

function encrypt(primary: Keyring['primary'], data: Buffer, value: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', primary.key, iv);
  cipher.setAAD(data);
  const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url'));
  return [FORMAT, primary.id, ...parts].join('.');
}

function decrypt(ring: Keyring, data: Buffer, stored: string, fail: (reason: string) => Error): string {
  const [format, id, iv, tag, ct] = stored.split('.');
  if (format !== FORMAT || !id || !iv || !tag || ct === undefined) throw fail('unknown format');
  const key = ring.byId.get(id);
  if (!key) throw fail(`it was encrypted with key ${id}, which this server does not have`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
      authTagLength: 16,
    });
    decipher.setAAD(data);
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw fail('the ciphertext does not authenticate');
  }
}
