// Fastify's own request lines (two at info per request, with every header) would flood the
// terminal of `npm start` with the web UI's polling. Each request is one line at debug instead,
// with the path only: a query string can carry one-time codes (the OIDC callback's). A failing
// request is also logged at error, with its cause, by the error handler (errors.ts).
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override routeNotFound(): void {}

  override requestCompleted(
    _error: Error | null | undefined,
    req: FastifyRequest,
    reply: FastifyReply,
  ): void {
    req.log.debug(
      {
        method: req.method,
        path: req.url.split('?', 1)[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  }
}
