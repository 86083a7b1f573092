import { AuditPage, AuditQuery, ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import { toWireAudit } from '../../store/auditStore.js';
import type { App } from '../app.js';
import { ensureCaller, ensureCan } from '../guard.js';

export function auditRoutes(app: App, s: Services): void {
  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log, newest first, with filters and cursor paging (admins).',
        querystring: AuditQuery,
        response: { 200: AuditPage, 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      ensureCan(me, 'audit.read', { kind: 'org' });
      const q = req.query;
      const { rows, more } = await s.auditStore.query({
        actor: q.actor,
        action: q.action,
        target: q.target,
        from: q.from,
        to: q.to,
        beforeId: q.cursor ? Number(q.cursor) : undefined,
        limit: q.limit,
      });
      const last = rows[rows.length - 1];
      return { items: rows.map(toWireAudit), next: more && last ? String(last.id) : null };
    },
  );
}
