// The scheduler's queue and quotas (server/http/routes/queueRoutes.ts).
import type { QuotaOverrideBody } from '../schedulerWire.js';
import { queryString, seg, type Transport } from './transport.js';

export type QuotaSubject = { kind: 'users' | 'teams'; id: string };

export class QueueApi {
  constructor(private readonly t: Transport) {}

  /** Queued tasks in the order the scheduler serves them: yours, or everyone's (`all`, admins). */
  list(owner: 'me' | 'all' = 'me') {
    return this.t.call('GET', `/api/v1/queue${queryString({ owner })}`, 'QueueList');
  }

  /** Your quotas and what you use of them; another user's for admins. */
  quota(userId?: string) {
    return this.t.call('GET', `/api/v1/quota${queryString({ userId })}`, 'Quota');
  }

  /** Every quota override (admins). */
  overrides() {
    return this.t.call('GET', '/api/v1/quotas', 'QuotaOverrideList');
  }

  /** Sets fields of a user's or team's override (admins); null puts one back to the default. */
  setOverride(subject: QuotaSubject, body: QuotaOverrideBody) {
    return this.t.call('PUT', `/api/v1/quotas/${subject.kind}/${seg(subject.id)}`, 'QuotaOverride', body);
  }

  /** Removes the override (admins); 404 when there is none. */
  clearOverride(subject: QuotaSubject) {
    return this.t.callVoid('DELETE', `/api/v1/quotas/${subject.kind}/${seg(subject.id)}`);
  }
}
