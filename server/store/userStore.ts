import { randomUUID } from 'node:crypto';
import type { OrgRole, User } from '../../sdk/wire.js';
import type { AnnounceAccessChange } from '../auth/accessChanges.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { iso, type UsersTable } from './schema.js';

export type UserRow = UsersTable;

export interface NewUser {
  email: string;
  name?: string | null | undefined;
  role: OrgRole;
  passwordHash?: string | null;
  passwordMustChange?: boolean;
  oidcIssuer?: string | null;
  oidcSubject?: string | null;
}

export interface UserPatch {
  name?: string | null;
  role?: OrgRole;
  disabled?: boolean;
  passwordHash?: string;
  /** Setting a password clears the must-change flag unless this says otherwise. */
  passwordMustChange?: boolean;
  lastLoginAt?: Date;
  oidcIssuer?: string;
  oidcSubject?: string;
}

const announceNothing: AnnounceAccessChange = async () => {};

/** Every field but the sign-in time can change what a cached user may do. */
function changesAccess(patch: UserPatch): boolean {
  return Object.entries(patch).some(([key, value]) => key !== 'lastLoginAt' && value !== undefined);
}

export class UserStore {
  private changes = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Tells the other replicas about a change to a user (services.ts wires the pubsub in). */
    private readonly announce: AnnounceAccessChange = announceNothing,
  ) {}

  /**
   * Goes up after every change to a user made through this store (disabled, role, name…). The
   * Authenticator's token cache compares it, so that such a change applies to the user's next
   * request on this replica. Per process on purpose: it orders this process's own write against
   * its own cache reads; other replicas learn of the change from its announcement
   * (server/auth/accessChanges.ts).
   */
  get accessVersion(): number {
    return this.changes;
  }

  /** Insert a user. Throws the engine's unique-violation error for a duplicate email. */
  async create(input: NewUser): Promise<UserRow> {
    const now = this.clock.now().toISOString();
    const row: UserRow = {
      id: randomUUID(),
      email: input.email.toLowerCase(),
      name: input.name ?? null,
      role: input.role,
      password_hash: input.passwordHash ?? null,
      password_must_change: input.passwordMustChange ? 1 : 0,
      oidc_issuer: input.oidcIssuer ?? null,
      oidc_subject: input.oidcSubject ?? null,
      disabled_at: null,
      created_at: now,
      updated_at: now,
      last_login_at: null,
    };
    await this.db.kysely.insertInto('users').values(row).execute();
    return row;
  }

  async byId(id: string): Promise<UserRow | undefined> {
    return this.db.kysely.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byEmail(email: string): Promise<UserRow | undefined> {
    return this.db.kysely
      .selectFrom('users')
      .selectAll()
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
  }

  async byOidcIdentity(issuer: string, subject: string): Promise<UserRow | undefined> {
    return this.db.kysely
      .selectFrom('users')
      .selectAll()
      .where('oidc_issuer', '=', issuer)
      .where('oidc_subject', '=', subject)
      .executeTakeFirst();
  }

  async list(): Promise<UserRow[]> {
    return this.db.kysely.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async count(): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countByRole(role: OrgRole, opts: { activeOnly: boolean }): Promise<number> {
    let q = this.db.kysely
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('role', '=', role);
    if (opts.activeOnly) q = q.where('disabled_at', 'is', null);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /**
   * Apply a patch unless it would leave no active owner; then return 'last_owner' and change
   * nothing. The check and the write share one transaction, with the owner rows locked on
   * PostgreSQL (SQLite runs one write transaction at a time), so two owners demoting each other
   * at the same moment cannot both succeed.
   */
  async updateKeepingAnOwner(id: string, patch: UserPatch): Promise<UserRow | undefined | 'last_owner'> {
    const removesOwner = (patch.role !== undefined && patch.role !== 'owner') || patch.disabled === true;
    if (!removesOwner) return this.update(id, patch);
    const result = await this.db.kysely.transaction().execute(async (trx) => {
      let q = trx
        .selectFrom('users')
        .select('id')
        .where('role', '=', 'owner')
        .where('disabled_at', 'is', null);
      if (this.db.dialect === 'postgres') q = q.forUpdate();
      const owners = await q.execute();
      if (owners.some((o) => o.id === id) && owners.length <= 1) return 'last_owner' as const;
      return new UserStore({ ...this.db, kysely: trx }, this.clock).update(id, patch);
    });
    // The store inside the transaction counted the change on itself; count it here, once committed.
    this.changes += 1;
    if (result !== 'last_owner' && result) await this.announce({ kind: 'user', id });
    return result;
  }

  /** Apply a patch; returns the updated row, or undefined when the user does not exist. */
  async update(id: string, patch: UserPatch): Promise<UserRow | undefined> {
    const now = this.clock.now().toISOString();
    const values: Partial<UserRow> = { updated_at: now };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.role !== undefined) values.role = patch.role;
    if (patch.disabled !== undefined) values.disabled_at = patch.disabled ? now : null;
    if (patch.passwordHash !== undefined) {
      values.password_hash = patch.passwordHash;
      values.password_must_change = patch.passwordMustChange ? 1 : 0;
    }
    if (patch.lastLoginAt !== undefined) values.last_login_at = patch.lastLoginAt.toISOString();
    if (patch.oidcIssuer !== undefined) values.oidc_issuer = patch.oidcIssuer;
    if (patch.oidcSubject !== undefined) values.oidc_subject = patch.oidcSubject;
    await this.db.kysely.updateTable('users').set(values).where('id', '=', id).execute();
    // After the write, never before: a user read between the two would be cached unchanged.
    this.changes += 1;
    if (changesAccess(patch)) await this.announce({ kind: 'user', id });
    return this.byId(id);
  }
}

export function toWireUser(row: UserRow): User {
  const authMethods: User['authMethods'] = [];
  if (row.password_hash) authMethods.push('password');
  if (row.oidc_subject) authMethods.push('oidc');
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role as OrgRole,
    disabled: row.disabled_at !== null,
    authMethods,
    createdAt: iso(row.created_at),
    lastLoginAt: iso(row.last_login_at),
  };
}
