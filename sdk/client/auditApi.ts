// The audit log (server/http/routes/auditRoutes.ts), newest first, for admins.
import type { AuditQuery } from '../wire.js';
import { queryString, type Transport } from './transport.js';

export class AuditApi {
  constructor(private readonly t: Transport) {}

  /** One page; pass `next` back as `cursor` for the following one. */
  list(query: Omit<AuditQuery, 'limit'> & { limit?: number } = {}) {
    return this.t.call('GET', `/api/v1/audit${queryString(query)}`, 'AuditPage');
  }
}
