// The queue and quotas (server/http/routes/queueRoutes.ts): GET /api/v1/queue, GET /api/v1/quota
// and the admins' overrides under /api/v1/quotas. The sdk's client (sdk/client/apiClient.ts) has
// no resource for them yet, so this one sends through the same Transport (same origin, session
// cookie, CSRF token, the error envelope as ApiError) and, like the sdk's client in a development
// build, checks each answer against the zod schema the server serialises it with; a production
// build drops that branch and ships no zod. It belongs in sdk/client/ once the sdk grows one.
import { ApiError, parseJsonOrUndefined, refusalError } from '../../sdk/client/apiError.js';
import { type Method, queryString, seg, Transport } from '../../sdk/client/transport.js';
import type { QueueList, Quota, QuotaOverride, QuotaOverrideBody } from '../../sdk/schedulerWire.js';
import { api } from './client.js';

interface Kinds {
  QueueList: QueueList;
  Quota: Quota;
  QuotaOverride: QuotaOverride;
  QuotaOverrideList: { items: QuotaOverride[] };
}
type Kind = keyof Kinds;

/** users or teams, as the path names them. */
export type QuotaSubjectKind = 'users' | 'teams';

async function devCheck<K extends Kind>(kind: K, json: unknown, status: number): Promise<Kinds[K]> {
  const wire = await import('../../sdk/schedulerWire.js');
  const parsed = wire[kind].safeParse(json);
  if (parsed.success) return parsed.data as Kinds[K];
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'the body';
  throw new ApiError(
    status,
    'bad_response',
    `The server answered in an unexpected shape (${kind}: ${where} ${issue?.message ?? 'does not match'}).`,
  );
}

export class SchedulerApi {
  private readonly t: Transport;

  constructor(options = api.options) {
    this.t = new Transport(options);
  }

  private async call<K extends Kind>(method: Method, path: string, kind: K, json?: unknown) {
    const res = await this.t.send(method, path, json === undefined ? {} : { json });
    const body = parseJsonOrUndefined(await res.text());
    if (!res.ok) throw refusalError(res.status, body);
    return import.meta.env.DEV ? devCheck(kind, body, res.status) : (body as Kinds[K]);
  }

  /** Queued tasks in the order the scheduler serves them: yours, or everyone's (admins). */
  queue(owner: 'me' | 'all' = 'me') {
    return this.call('GET', `/api/v1/queue${queryString({ owner })}`, 'QueueList');
  }

  /** Your limits and what you use of them; another user's for admins. */
  quota(userId?: string) {
    return this.call('GET', `/api/v1/quota${queryString({ userId })}`, 'Quota');
  }

  overrides() {
    return this.call('GET', '/api/v1/quotas', 'QuotaOverrideList');
  }

  /** A field set to null goes back to the configured default; an absent one is kept. */
  setOverride(kind: QuotaSubjectKind, id: string, body: QuotaOverrideBody) {
    return this.call('PUT', `/api/v1/quotas/${kind}/${seg(id)}`, 'QuotaOverride', body);
  }

  async removeOverride(kind: QuotaSubjectKind, id: string): Promise<void> {
    await this.t.expectOk(await this.t.send('DELETE', `/api/v1/quotas/${kind}/${seg(id)}`));
  }
}

export const scheduler = new SchedulerApi();
