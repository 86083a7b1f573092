import { type Selectable, sql } from 'kysely';
import type { AuditEntry, auditResults } from '../../sdk/wire.js';
import type { Clock } from '../clock.js';
import type { Db } from './db.js';
import { type AuditLogsTable, iso } from './schema.js';

export type AuditRow = Selectable<AuditLogsTable>;

export interface AuditRecord {
  actorId: string | null;
  actorEmail: string | null;
  action: string;
  targetType?: string | null | undefined;
  targetId?: string | null | undefined;
  result: (typeof auditResults)[number];
  statusCode?: number | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  detail?: Record<string, unknown> | null | undefined;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** Return entries with id below this (the previous page's last id). */
  beforeId?: number | undefined;
  limit: number;
}

/**
 * Append-only: there is no update here on purpose, and the one delete is by age, for the
 * retention period (`pruneBefore`, called by server/audit/auditRetention.ts).
 */
export class AuditStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async append(rec: AuditRecord): Promise<void> {
    await this.db.kysely
      .insertInto('audit_logs')
      .values({
        created_at: this.clock.now().toISOString(),
        actor_id: rec.actorId,
        // Stored lower-cased, as users.email is, because query() matches a lower-cased actor.
        actor_email: rec.actorEmail?.toLowerCase() ?? null,
        action: rec.action,
        target_type: rec.targetType ?? null,
        target_id: rec.targetId ?? null,
        result: rec.result,
        status_code: rec.statusCode ?? null,
        ip: rec.ip ?? null,
        user_agent: rec.userAgent == null ? null : truncate(rec.userAgent, 512),
        request_id: rec.requestId ?? null,
        detail: rec.detail ? JSON.stringify(rec.detail) : null,
      })
      .execute();
  }

  /**
   * Deletes the entries created before `cutoff`, `batch` rows per statement so that a first prune
   * of a large log does not hold one long lock; returns how many went. Deleting by age is
   * idempotent, so several replicas pruning at once only share the work.
   */
  async pruneBefore(cutoff: Date, batch = 5000): Promise<number> {
    const before = cutoff.toISOString();
    let total = 0;
    for (;;) {
      const result = await this.db.kysely
        .deleteFrom('audit_logs')
        .where('id', 'in', (eb) =>
          eb.selectFrom('audit_logs').select('id').where('created_at', '<', before).limit(batch),
        )
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      total += n;
      if (n < batch) return total;
    }
  }

  /** Newest first, at most `limit` rows plus whether more exist. */
  async query(f: AuditFilter): Promise<{ rows: AuditRow[]; more: boolean }> {
    let q = this.db.kysely.selectFrom('audit_logs').selectAll();
    if (f.actor) {
      const actor = f.actor;
      q = q.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_email', '=', actor.toLowerCase())]));
    }
    if (f.action) {
      q = f.action.endsWith('.')
        ? // LIKE with every wildcard escaped, rather than a range comparison: under a linguistic
          // collation (en_US) punctuation sorts unpredictably, so "auth." ≤ x < "auth/" is unsafe.
          q.where(
            sql<boolean>`${sql.ref('action')} like ${`${f.action.replace(/[\\%_]/g, '\\$&')}%`} escape '\\'`,
          )
        : q.where('action', '=', f.action);
    }
    if (f.target) {
      const sep = f.target.indexOf(':');
      q =
        sep > 0
          ? q
              .where('target_type', '=', f.target.slice(0, sep))
              .where('target_id', '=', f.target.slice(sep + 1))
          : q.where('target_id', '=', f.target);
    }
    if (f.from) q = q.where('created_at', '>=', new Date(f.from).toISOString());
    if (f.to) q = q.where('created_at', '<', new Date(f.to).toISOString());
    if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(f.limit + 1)
      .execute();
    return { rows: rows.slice(0, f.limit), more: rows.length > f.limit };
  }
}

/**
 * At most `max` UTF-16 code units, never ending in half a surrogate pair: a lone surrogate is not
 * valid UTF-8, so PostgreSQL would store it as one U+FFFD and SQLite as three (making the "512"
 * column 514 long), and the two engines would read back different strings.
 */
function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

export function toWireAudit(row: AuditRow): AuditEntry {
  return {
    id: Number(row.id),
    at: iso(row.created_at),
    actorId: row.actor_id,
    actorEmail: row.actor_email,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    result: row.result as AuditEntry['result'],
    statusCode: row.status_code,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
  };
}
