import type { Registry } from 'prom-client';
import { z } from 'zod';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { HttpError } from '../errors.js';

const Status = z.object({ status: z.string() });

export function healthRoutes(app: App, s: Services, metrics: Registry): void {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness: the process answers.', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary:
          'Readiness: startup is done (store and migrations, first administrator, first reconcile pass) and the database answers.',
        response: { 200: Status, 503: ErrorEnvelope },
      },
    },
    async () => {
      const pending = s.readiness.pendingSentence();
      if (pending) throw new HttpError(503, 'not_ready', pending);
      try {
        await s.db.ping();
      } catch (err) {
        throw new HttpError(503, 'database_unreachable', 'The database does not answer.', {
          detail: (err as Error).message,
        });
      }
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics.', response: { 200: z.string() } } },
    async (_req, reply) => {
      reply.type(metrics.contentType);
      // Sent raw: the text exposition format is not JSON.
      return reply.serializer((p: unknown) => p as string).send(await metrics.metrics());
    },
  );
}
