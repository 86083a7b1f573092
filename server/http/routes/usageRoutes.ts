// Model usage reports from the gateway's usage rows: tokens and estimated cost per user, task or
// repository over a period. Members see only their own usage; admins see everyone's.
import { UsageQuery, UsageReport } from '../../../sdk/usageWire.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { invalidInput } from '../errors.js';
import { allows, ensureCaller } from '../guard.js';

const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope };

export function usageRoutes(app: App, s: Services): void {
  const { usage } = s;

  app.get(
    '/api/v1/usage',
    {
      schema: {
        tags: ['usage'],
        summary:
          'Model tokens and estimated cost by user, task or repository; the current calendar month (UTC) unless from/to say otherwise.',
        querystring: UsageQuery,
        response: { 200: UsageReport, ...errors },
      },
    },
    async (req) => {
      const me = await ensureCaller(s, req);
      const now = s.clock.now();
      const from = req.query.from
        ? new Date(req.query.from)
        : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const to = req.query.to
        ? new Date(req.query.to)
        : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      if (from.getTime() >= to.getTime()) {
        throw invalidInput('querystring', [{ path: ['from'], message: 'must be before to', code: 'custom' }]);
      }
      const everyone = allows(me, 'usage.readAll', { kind: 'org' });
      const items = await usage.aggregate({
        from,
        to,
        groupBy: req.query.groupBy,
        userId: everyone ? undefined : me.user.id,
      });
      return { items, from: from.toISOString(), to: to.toISOString() };
    },
  );
}
