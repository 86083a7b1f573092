// Row types of the store, one interface per table, as Kysely sees them. Timestamps are ISO 8601
// strings on the way in; PostgreSQL returns Date objects for timestamptz columns, which the stores
// convert with `iso()` so both engines hand the same shapes up.
import type { Generated } from 'kysely';

export type Timestamp = string | Date;

export interface UsersTable {
  id: string;
  email: string;
  name: string | null;
  role: string;
  password_hash: string | null;
  /** 1 while the password is a generated one-time password that must be replaced. */
  password_must_change: number;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  disabled_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_login_at: Timestamp | null;
}

export interface TeamsTable {
  id: string;
  name: string;
  description: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: string;
  created_at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_token: string;
  auth_method: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface AuditLogsTable {
  id: Generated<number>;
  created_at: Timestamp;
  actor_id: string | null;
  actor_email: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: string;
  status_code: number | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  detail: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: Timestamp;
}

export interface WorkspacesTable {
  id: string;
  owner_id: string;
  repository: string;
  name: string;
  status: string;
  status_reason: string | null;
  health: string | null;
  driver: string;
  runtime_ref: string | null;
  agent_token_hash: string | null;
  cpu: number;
  /** bigint: PostgreSQL's driver hands it back as a string. */
  memory_bytes: number | string;
  pids: number;
  cloned: number;
  usage: string | null;
  last_heartbeat_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  started_at: Timestamp | null;
  stopped_at: Timestamp | null;
  /** How far its running time has been metered (scheduler); null while not running. */
  metered_at: Timestamp | null;
  /** When a user was last seen using it: a terminal attached (later: app traffic). */
  last_activity_at: Timestamp | null;
  /** When the idle warning was given; one older than started_at belongs to an earlier run. */
  idle_warned_at: Timestamp | null;
  /** The idle stop time that warning announced. */
  idle_stop_at: Timestamp | null;
}

export interface TasksTable {
  id: string;
  owner_id: string;
  workspace_id: string | null;
  repository: string;
  prompt: string;
  model: string | null;
  permission_mode: string;
  max_turns: number | null;
  max_budget_usd: number | null;
  status: string;
  status_reason: string | null;
  session_id: string | null;
  last_seq: number;
  /** A follow-up waiting for the workspace (the task is queued again meanwhile). */
  pending_message: string | null;
  turns: number;
  cost_usd: number;
  input_tokens: number | string;
  output_tokens: number | string;
  duration_ms: number | string;
  created_at: Timestamp;
  updated_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  /** low, normal or high (scheduler). */
  priority: string;
  /** When it last joined the queue (created, or resumed by a follow-up); null: created_at. */
  queued_at: Timestamp | null;
  /** When the current (or last) turn started; `started_at` is the first turn's. */
  turn_started_at: Timestamp | null;
}

export interface TaskEventsTable {
  task_id: string;
  seq: number;
  type: string;
  /** The stream-json line exactly as Claude Code printed it (it may not be JSON). */
  payload: string;
  created_at: Timestamp;
}

export interface TaskApprovalsTable {
  task_id: string;
  id: string;
  seq: number;
  tool_name: string;
  input: string;
  status: string;
  message: string | null;
  remember: number;
  decided_by: string | null;
  decided_at: Timestamp | null;
  created_at: Timestamp;
}

export interface TaskResultsTable {
  task_id: string;
  seq: number;
  subtype: string | null;
  is_error: number;
  total_cost_usd: number | null;
  num_turns: number | null;
  duration_ms: number | string | null;
  terminal_reason: string | null;
  usage: string | null;
  result: string | null;
  created_at: Timestamp;
}

export interface SecretsTable {
  user_id: string;
  name: string;
  /** `v1.<key id>.<iv>.<tag>.<ciphertext>`, AES-256-GCM; see server/store/secretStore.ts. */
  ciphertext: string;
  last4: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface UsageRecordsTable {
  id: string;
  created_at: Timestamp;
  user_id: string;
  workspace_id: string;
  task_id: string | null;
  model: string;
  /** bigint columns: PostgreSQL's driver hands them back as strings. */
  input_tokens: number | string;
  output_tokens: number | string;
  cache_creation_tokens: number | string;
  cache_read_tokens: number | string;
  cost_usd: number;
  request_id: string | null;
}

export interface LoginFailuresTable {
  /** "a:<email>" for an account, "i:<address>" for a client IP. */
  key: string;
  failed_at_ms: number | string;
}

export interface ReplicasTable {
  id: string;
  address: string;
  version: string;
  schema_version: string;
  agents: number;
  started_at: Timestamp;
  heartbeat_at: Timestamp;
}

/** Which replica holds each workspace's agent connection (server/cluster/agentConnectionStore.ts). */
export interface AgentConnectionsTable {
  workspace_id: string;
  replica_id: string;
  connected_at: Timestamp;
}

/** Join tokens of `rclaude node` daemons (server/store/nodeJoinTokenStore.ts). */
export interface NodeJoinTokensTable {
  id: string;
  node: string;
  token_hash: string;
  prefix: string;
  created_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

/** Which replica holds each node daemon's connection, and its last report (nodeConnectionStore.ts). */
export interface NodeConnectionsTable {
  node: string;
  replica_id: string;
  connected_at: Timestamp;
  /** The last `node.report`, as JSON. */
  report: string | null;
  reported_at: Timestamp | null;
}

export interface Database {
  users: UsersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  api_tokens: ApiTokensTable;
  sessions: SessionsTable;
  audit_logs: AuditLogsTable;
  settings: SettingsTable;
  workspaces: WorkspacesTable;
  tasks: TasksTable;
  task_events: TaskEventsTable;
  task_approvals: TaskApprovalsTable;
  task_results: TaskResultsTable;
  secrets: SecretsTable;
  usage_records: UsageRecordsTable;
  login_failures: LoginFailuresTable;
  replicas: ReplicasTable;
  agent_connections: AgentConnectionsTable;
  node_join_tokens: NodeJoinTokensTable;
  node_connections: NodeConnectionsTable;
  quota_overrides: QuotaOverridesTable;
  usage_months: UsageMonthsTable;
  fair_share_usage: FairShareUsageTable;
}

/** An admin's override of the configured quotas for one user or team; null keeps the default. */
export interface QuotaOverridesTable {
  subject_kind: 'user' | 'team';
  subject_id: string;
  max_concurrent_tasks: number | null;
  max_running_workspaces: number | null;
  max_monthly_hours: number | null;
  fair_share_weight: number | null;
  /** 1: members may submit `high` priority tasks (a team policy). */
  allow_high_priority: number | null;
  updated_by: string | null;
  updated_at: Timestamp;
}

export interface UsageMonthsTable {
  user_id: string;
  /** YYYY-MM, UTC. */
  month: string;
  workspace_seconds: number;
}

export interface FairShareUsageTable {
  user_id: string;
  /** Decayed workspace-CPU-seconds as of `as_of`. */
  cpu_seconds: number;
  as_of: Timestamp;
}

/** Exactly what Date#toISOString() writes, which is how every timestamp goes into SQLite. */
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A timestamp column's value as an ISO 8601 string, whichever engine returned it. */
export function iso(value: Timestamp): string;
export function iso(value: Timestamp | null): string | null;
export function iso(value: Timestamp | null): string | null {
  if (value === null) return null;
  if (value instanceof Date) return value.toISOString();
  // SQLite hands back the string we stored; parsing and re-printing it gives the same string at
  // twenty times the cost, paid for every timestamp of every row a list returns.
  return CANONICAL_ISO.test(value) ? value : new Date(value).toISOString();
}
