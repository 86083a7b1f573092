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

/**
 * Tasks: Claude Code conversations in workspaces, their event log (every stream-json line, by
 * seq, inserted idempotently), tool approvals and per-turn results.
 */
const m0004_tasks: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    const real = dialect === 'postgres' ? 'double precision' : 'real';
    await db.schema
      .createTable('tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('workspace_id', 'text', (c) => c.references('workspaces.id').onDelete('set null'))
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('prompt', 'text', (c) => c.notNull())
      .addColumn('model', 'text')
      .addColumn('permission_mode', 'text', (c) => c.notNull())
      .addColumn('max_turns', 'integer')
      .addColumn('max_budget_usd', real)
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('session_id', 'text')
      .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pending_message', 'text')
      .addColumn('turns', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('cost_usd', real, (c) => c.notNull().defaultTo(0))
      .addColumn('input_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('output_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('duration_ms', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('updated_at', t, (c) => c.notNull())
      .addColumn('started_at', t)
      .addColumn('finished_at', t)
      .execute();
    await db.schema
      .createIndex('tasks_owner_created')
      .on('tasks')
      .columns(['owner_id', 'created_at'])
      .execute();
    await db.schema
      .createIndex('tasks_workspace_status')
      .on('tasks')
      .columns(['workspace_id', 'status'])
      .execute();
    await db.schema.createIndex('tasks_status').on('tasks').column('status').execute();

    await db.schema
      .createTable('task_events')
      .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', t, (c) => c.notNull())
      .addPrimaryKeyConstraint('task_events_pk', ['task_id', 'seq'])
      .execute();

    await db.schema
      .createTable('task_approvals')
      .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('tool_name', 'text', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text')
      .addColumn('remember', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', t)
      .addColumn('created_at', t, (c) => c.notNull())
      .addPrimaryKeyConstraint('task_approvals_pk', ['task_id', 'id'])
      .execute();

    await db.schema
      .createTable('task_results')
      .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('subtype', 'text')
      .addColumn('is_error', 'integer', (c) => c.notNull())
      .addColumn('total_cost_usd', real)
      .addColumn('num_turns', 'integer')
      .addColumn('duration_ms', 'bigint')
      .addColumn('terminal_reason', 'text')
      .addColumn('usage', 'text')
      .addColumn('result', 'text')
      .addColumn('created_at', t, (c) => c.notNull())
      .addPrimaryKeyConstraint('task_results_pk', ['task_id', 'seq'])
      .execute();
  },
});

/**
 * Users' own secrets (their Anthropic API key), encrypted by the server (server/store/secretStore.ts),
 * and one usage row per model request the gateway relayed. Usage rows have no foreign keys, like
 * audit rows: the accounting must outlive the user, workspace or task it was for.
 */
const m0005_secrets_usage: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    await db.schema
      .createTable('secrets')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('ciphertext', 'text', (c) => c.notNull())
      .addColumn('last4', 'text', (c) => c.notNull())
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('updated_at', t, (c) => c.notNull())
      .addPrimaryKeyConstraint('secrets_pk', ['user_id', 'name'])
      .execute();

    await db.schema
      .createTable('usage_records')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('task_id', 'text')
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('input_tokens', 'bigint', (c) => c.notNull())
      .addColumn('output_tokens', 'bigint', (c) => c.notNull())
      .addColumn('cache_creation_tokens', 'bigint', (c) => c.notNull())
      .addColumn('cache_read_tokens', 'bigint', (c) => c.notNull())
      .addColumn('cost_usd', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .execute();
    await db.schema
      .createIndex('usage_records_user_created')
      .on('usage_records')
      .columns(['user_id', 'created_at'])
      .execute();
    await db.schema.createIndex('usage_records_task').on('usage_records').column('task_id').execute();
    await db.schema
      .createIndex('usage_records_workspace')
      .on('usage_records')
      .column('workspace_id')
      .execute();
    await db.schema.createIndex('usage_records_created').on('usage_records').column('created_at').execute();
  },
});

/**
 * Failed sign-ins, one row per account key and per client-IP key, so that every replica counts
 * the same failures (server/auth/loginThrottle.ts). Times are epoch milliseconds: the throttle
 * only compares them, and an integer compares the same way on both engines.
 */
const m0006_login_throttle: DialectMigration = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('login_failures')
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('failed_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('login_failures_key_time')
      .on('login_failures')
      .columns(['key', 'failed_at_ms'])
      .execute();
    await db.schema.createIndex('login_failures_time').on('login_failures').column('failed_at_ms').execute();
  },
});

/**
 * The control-plane replicas sharing this database (server/cluster/replicaRegistry.ts): where
 * the others reach each one, what it runs, and its heartbeat. `agents` is how many agent
 * connections the replica holds, as it last published it.
 */
const m0007_replicas: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    await db.schema
      .createTable('replicas')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('schema_version', 'text', (c) => c.notNull())
      .addColumn('agents', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('started_at', t, (c) => c.notNull())
      .addColumn('heartbeat_at', t, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('replicas_heartbeat').on('replicas').column('heartbeat_at').execute();
  },
});

/**
 * Which replica holds each workspace's agent connection (DESIGN §9), so that a request landing on
 * another replica can be relayed to it. One row per workspace: a newer connection takes the row
 * over. No foreign key to `replicas`: the registry removes the rows of a replica it removes.
 */
const m0008_agent_connections: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('agent_connections')
      .addColumn('workspace_id', 'text', (c) => c.primaryKey())
      .addColumn('replica_id', 'text', (c) => c.notNull())
      .addColumn('connected_at', ts(dialect), (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('agent_connections_replica')
      .on('agent_connections')
      .column('replica_id')
      .execute();
  },
});

/**
 * Remote Docker hosts reached through their `rclaude node` daemon (server/nodes/): the join tokens
 * (stored hashed, each admitting one node name) and which replica holds each node's connection
 * with the node's last report. As with agent_connections, no foreign key to `replicas`.
 */
const m0009_nodes: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    await db.schema
      .createTable('node_join_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('created_at', t, (c) => c.notNull())
      .addColumn('expires_at', t)
      .addColumn('last_used_at', t)
      .addColumn('revoked_at', t)
      .execute();
    await db.schema
      .createTable('node_connections')
      .addColumn('node', 'text', (c) => c.primaryKey())
      .addColumn('replica_id', 'text', (c) => c.notNull())
      .addColumn('connected_at', t, (c) => c.notNull())
      .addColumn('report', 'text')
      .addColumn('reported_at', t)
      .execute();
  },
});

/**
 * The scheduler (server/scheduler/): a task's priority and when it (last) joined the queue; how far
 * each workspace's running time has been metered; per-user and per-team quota overrides set by
 * admins (null: the configured default); workspace-seconds per user per month; and each user's
 * decayed fair-share usage (workspace-CPU-seconds as of `as_of`).
 */
const m0010_scheduler: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    const real = dialect === 'postgres' ? 'double precision' : 'real';
    await db.schema
      .alterTable('tasks')
      .addColumn('priority', 'text', (c) => c.notNull().defaultTo('normal'))
      .execute();
    await db.schema.alterTable('tasks').addColumn('queued_at', t).execute();
    await db.schema.alterTable('workspaces').addColumn('metered_at', t).execute();
    await db.schema
      .createTable('quota_overrides')
      .addColumn('subject_kind', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('max_concurrent_tasks', 'integer')
      .addColumn('max_running_workspaces', 'integer')
      .addColumn('max_monthly_hours', real)
      .addColumn('fair_share_weight', real)
      .addColumn('allow_high_priority', 'integer')
      .addColumn('updated_by', 'text')
      .addColumn('updated_at', t, (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_overrides_pk', ['subject_kind', 'subject_id'])
      .execute();
    await db.schema
      .createTable('usage_months')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('workspace_seconds', real, (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('usage_months_pk', ['user_id', 'month'])
      .execute();
    await db.schema
      .createTable('fair_share_usage')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('cpu_seconds', real, (c) => c.notNull().defaultTo(0))
      .addColumn('as_of', t, (c) => c.notNull())
      .execute();
  },
});

/**
 * Lifecycle limits (server/scheduler/lifecyclePass.ts). On workspaces: `last_activity_at`, when a
 * user was last seen using the workspace (a terminal attached, touched by whichever replica serves
 * it; later app traffic), and the idle warning given (`idle_warned_at`) with the stop time it
 * announced (`idle_stop_at`), kept in the store so a replica taking the pass over neither warns
 * twice nor forgets. On tasks: `turn_started_at`, when the current turn started (`started_at` is
 * the first turn's), which `pooling.taskTimeout` is measured from.
 */
const m0011_lifecycle: DialectMigration = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const t = ts(dialect);
    for (const column of ['last_activity_at', 'idle_warned_at', 'idle_stop_at']) {
      await db.schema.alterTable('workspaces').addColumn(column, t).execute();
    }
    await db.schema.alterTable('tasks').addColumn('turn_started_at', t).execute();
  },
});

/** Every migration, in order. Names sort lexically; that order is the order they run in. */
export const migrations: Record<string, DialectMigration> = {
  '0001_foundation': m0001_foundation,
  '0002_password_must_change': m0002_password_must_change,
  '0003_workspaces': m0003_workspaces,
  '0004_tasks': m0004_tasks,
  '0005_secrets_usage': m0005_secrets_usage,
  '0006_login_throttle': m0006_login_throttle,
  '0007_replicas': m0007_replicas,
  '0008_agent_connections': m0008_agent_connections,
  '0009_nodes': m0009_nodes,
  '0010_scheduler': m0010_scheduler,
  '0011_lifecycle': m0011_lifecycle,
};
