// The forward-only migration set, shared by SQLite and PostgreSQL. Append new migrations at the
// end with the next number; never edit or reorder one that has shipped. Each migration receives
// the dialect so column types can differ where the engines differ (timestamps, identity columns).
import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './db.js';

type DialectMigration = (dialect: Dialect) => Migration;

/** Column type for timestamps: timestamptz on PostgreSQL, ISO 8601 text on SQLite. */
const ts = (dialect: Dialect) => (dialect === 'postgres' ? sql`timestamptz` : sql`text`);

const m0001_foundation: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text')
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('oidc_issuer', 'text')
      .addColumn('oidc_subject', 'text')
      .addColumn('disabled_at', t)
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('updated_at', t, (c) => c.notNull())
      .addColumn('last_login_at', t)
      .execute();
    await db.schema
      .createIndex('users_oidc_identity')
      .on('users')
      .columns(['oidc_issuer', 'oidc_subject'])
      .unique()
      .execute();

    await db.schema
      .createTable('teams')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('updated_at', t, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('team_members')
      .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', t, (c) => c.notNull())
      .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
      .execute();
    await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('expires_at', t)
      .addColumn('last_used_at', t)
      .addColumn('revoked_at', t)
      .execute();
    await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('auth_method', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('last_seen_at', t, (c) => c.notNull())
      .addColumn('expires_at', t, (c) => c.notNull())
      .addColumn('revoked_at', t)
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

    // Audit rows keep the actor's id and email as text, without a foreign key, so the trail
    // survives whatever later happens to the user.
    await db.schema
      .createTable('audit_logs')
      .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('actor_email', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text')
      .addColumn('target_id', 'text')
      .addColumn('result', 'text', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('request_id', 'text')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_logs_created').on('audit_logs').column('created_at').execute();
    await db.schema.createIndex('audit_logs_actor').on('audit_logs').columns(['actor_id', 'id']).execute();
    await db.schema.createIndex('audit_logs_action').on('audit_logs').columns(['action', 'id']).execute();
    await db.schema.createIndex('audit_logs_target').on('audit_logs').columns(['target_id', 'id']).execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', t, (c) => c.notNull())
      .execute();
  },
});

/** A generated first-admin password must be replaced at the first sign-in. */
const m0002_password_must_change: DialectMigration = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('users')
      .addColumn('password_must_change', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
});

/**
 * Workspaces: one per (owner, repository). `runtime_ref` is the driver's handle (JSON) so a
 * restarted server reaches the box again; `agent_token_hash` authenticates its agent.
 */
const m0003_workspaces: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    await db.schema
      .createTable('workspaces')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('health', 'text')
      .addColumn('driver', 'text', (c) => c.notNull())
      .addColumn('runtime_ref', 'text')
      .addColumn('agent_token_hash', 'text')
      .addColumn('cpu', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
      .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
      .addColumn('pids', 'integer', (c) => c.notNull())
      .addColumn('cloned', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('usage', 'text')
      .addColumn('last_heartbeat_at', t)
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('updated_at', t, (c) => c.notNull())
      .addColumn('started_at', t)
      .addColumn('stopped_at', t)
      .execute();
    await db.schema
      .createIndex('workspaces_owner_repository')
      .on('workspaces')
      .columns(['owner_id', 'repository'])
      .unique()
      .execute();
    await db.schema.createIndex('workspaces_status').on('workspaces').column('status').execute();
  },
});

/** Every migration, in order. Names sort lexically; that order is the order they run in. */
export const migrations: Record<string, DialectMigration> = {
  '0001_foundation': m0001_foundation,
  '0002_password_must_change': m0002_password_must_change,
  '0003_workspaces': m0003_workspaces,
};
