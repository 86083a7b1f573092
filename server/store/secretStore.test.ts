import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { email, rejection, useStore } from '../../test/support/storeTestKit.js';
import { engines } from '../../test/support/testDb.js';
import { SECRETS_KEY_SETTING, SecretStore, SecretUnreadableError } from './secretStore.js';
import { SettingStore } from './settingStore.js';
import { UserStore } from './userStore.js';

const VALUE = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz-WXYZ';

describe.each(engines)('SecretStore on %s', (engine) => {
  const ctx = useStore(engine);
  const user = () => new UserStore(ctx.db, ctx.clock).create({ email: email('s'), role: 'member' });
  const store = (configured?: string) =>
    new SecretStore(ctx.db, ctx.clock, { configured, settings: new SettingStore(ctx.db, ctx.clock) });

  it('stores only ciphertext, reads the value back, lists names and last four', async () => {
    const u = await user();
    const secrets = store();
    const saved = await secrets.put(u.id, 'anthropic-api-key', VALUE);
    expect(saved).toMatchObject({ name: 'anthropic-api-key', last4: 'WXYZ' });
    const rows = await ctx.db.kysely.selectFrom('secrets').selectAll().where('user_id', '=', u.id).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(VALUE.slice(7, 30));
    expect(rows[0]?.ciphertext).toMatch(/^v1\.[0-9a-f]{12}\./);
    expect(await secrets.get(u.id, 'anthropic-api-key')).toBe(VALUE);
    // A second store (another replica) shares the generated key through the settings table.
    expect(await store().get(u.id, 'anthropic-api-key')).toBe(VALUE);
    expect(await secrets.list(u.id)).toEqual([saved]);
    expect(await secrets.get(u.id, 'other')).toBeUndefined();
  });

  it('replaces on put, deletes, and deleting the user deletes their secrets', async () => {
    const u = await user();
    const secrets = store();
    await secrets.put(u.id, 'anthropic-api-key', VALUE);
    ctx.clock.advance(1000);
    const again = await secrets.put(u.id, 'anthropic-api-key', `${VALUE}-new1`);
    expect(again.last4).toBe('new1');
    expect(again.updatedAt > again.createdAt).toBe(true);
    expect(await secrets.get(u.id, 'anthropic-api-key')).toBe(`${VALUE}-new1`);
    expect(await secrets.delete(u.id, 'anthropic-api-key')).toBe(true);
    expect(await secrets.delete(u.id, 'anthropic-api-key')).toBe(false);
    expect(await secrets.list(u.id)).toEqual([]);

    const leaver = await user();
    await secrets.put(leaver.id, 'anthropic-api-key', VALUE);
    await ctx.db.kysely.deleteFrom('users').where('id', '=', leaver.id).execute();
    expect(await secrets.list(leaver.id)).toEqual([]);
  });

  it("a ciphertext moved onto another user's row does not decrypt", async () => {
    const a = await user();
    const b = await user();
    const secrets = store();
    await secrets.put(a.id, 'anthropic-api-key', VALUE);
    await secrets.put(b.id, 'anthropic-api-key', 'sk-ant-bbbbbbbbbbbbbbbbbbbbbbbb');
    const row = await ctx.db.kysely
      .selectFrom('secrets')
      .select('ciphertext')
      .where('user_id', '=', a.id)
      .executeTakeFirstOrThrow();
    await ctx.db.kysely
      .updateTable('secrets')
      .set({ ciphertext: row.ciphertext })
      .where('user_id', '=', b.id)
      .execute();
    expect(await rejection(secrets.get(b.id, 'anthropic-api-key'))).toBeInstanceOf(SecretUnreadableError);
  });

  it('a configured key encrypts new writes and the generated key still reads old rows', async () => {
    const u = await user();
    await store().put(u.id, 'old', VALUE);
    const configured = randomBytes(32).toString('base64');
    const withKey = store(configured);
    expect(await withKey.get(u.id, 'old')).toBe(VALUE);
    await withKey.put(u.id, 'new', VALUE);
    const ids = await ctx.db.kysely
      .selectFrom('secrets')
      .select(['name', 'ciphertext'])
      .where('user_id', '=', u.id)
      .orderBy('name')
      .execute();
    const [newId, oldId] = ids.map((r) => r.ciphertext.split('.')[1]);
    expect(newId).not.toBe(oldId);
    // Without the configured key the new row cannot be read, and the error says why.
    const err = await rejection(store().get(u.id, 'new'));
    expect(err).toBeInstanceOf(SecretUnreadableError);
    expect(String(err)).toContain('which this server does not have');
    expect(String(err)).not.toContain(VALUE);
    // Another, wrong configured key reads neither of the configured-key rows.
    expect(await rejection(store(randomBytes(32).toString('base64url')).get(u.id, 'new'))).toBeInstanceOf(
      SecretUnreadableError,
    );
    expect(await new SettingStore(ctx.db, ctx.clock).get(SECRETS_KEY_SETTING)).toBeDefined();
  });
});
