import type { FastifyInstance } from 'fastify';

/**
 * A response that goes out before its request's body has been read (a 401 or 413 to an upload,
 * any refusal of a streamed body) closes the connection after it. Otherwise Node reads and
 * discards the rest of the body to keep the connection alive: a client could make the server
 * swallow gigabytes it has already refused. Fastify does the same for the bodies it parses
 * itself (JSON); this covers the routes that take the body as a stream.
 */
export function closeUnreadBody(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    // `complete` turns true once the parser has seen the whole message; injected requests lack it.
    if (req.raw.complete === false) reply.header('connection', 'close');
    return payload;
  });
}
