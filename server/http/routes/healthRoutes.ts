import type { Registry } from 'prom-client';
import { z } from 'zod';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import type { Services } from '../../services.js';
import type { App } from '../app.js';
import { envelope } from '../errors.js';

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
    // Answered, not thrown: a 503 here is what a load balancer polls for while a replica starts
    // or loses its database, not a failed request, so it is not logged as one (with a stack)
    // every time it is asked; a database that stops answering is logged once per ask, as a warning.
    async (req, reply) => {
      const pending = s.readiness.pendingSentence();
      if (pending) return reply.code(503).send(envelope('not_ready', pending));
      try {
        await s.db.ping();
      } catch (err) {
        req.log.warn({ detail: (err as Error).message }, 'readiness: the database does not answer');
        return reply.code(503).send(
          envelope('database_unreachable', 'The database does not answer.', {
            detail: (err as Error).message,
          }),
        );
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
