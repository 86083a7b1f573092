import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Config } from '../config/configSchema.js';
import { isStreamRequest } from './ensureSameOrigin.js';

/**
 * Fastify's and Node's timeouts from `server.*` (seconds): Fastify turns Node's request timeout
 * off and sets no idle timeout, so without these a client that promises a body and never sends
 * it holds its connection, and a file descriptor, for ever.
 */
export function serverTimeouts(
  server: Pick<Config['server'], 'headersTimeout' | 'requestTimeout' | 'idleTimeout'>,
): Pick<FastifyServerOptions, 'connectionTimeout' | 'requestTimeout'> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const headers = server.headersTimeout * 1000;
  const request = server.requestTimeout * 1000;
  return {
    requestTimeout: request,
    connectionTimeout: server.idleTimeout * 1000,
    http: {
      headersTimeout: headers,
      // Node checks both timeouts against its own default at creation, so it gets them together.
      requestTimeout: request,
      // Node looks for late requests only this often (30 s by default): a quarter of the shorter
      // timeout keeps the answer within a quarter of it.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headers / 4))),
    },
  };
}

/**
 * A stream (WebSocket or EventSource) is quiet for as long as nothing happens, which is not the
 * stalled client `server.idleTimeout` is for: its GET is complete, and the event stream sends a
 * keep-alive comment every 15 s. So a stream's socket has no idle timeout; Node puts the
 * keep-alive timeout back once a response ends, and ws clears it on upgrade anyway.
 */
export function exemptStreams(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    if (req.method === 'GET' && isStreamRequest(req)) req.raw.socket?.setTimeout(0);
  });
}
