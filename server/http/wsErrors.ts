// The WebSocket half of the one error path: once a socket is upgraded there is no HTTP status to
// send, so an error goes out as a text frame `{"type":"error",code,message}` carrying the same
// code and message the HTTP envelope would (toErrorResponse), optionally followed by a close.
import type { FastifyBaseLogger } from 'fastify';
import type WebSocket from 'ws';
import { toErrorResponse } from './errors.js';

/** WebSocket close code for a failure on the server's side (RFC 6455 §7.4.1). */
export const WS_INTERNAL_ERROR = 1011;

/**
 * Sends `err` to the client as an error frame; with `close`, closes the socket after it. An
 * error that maps to a 5xx is logged with `context`, as the HTTP handler logs a failed request.
 */
export function sendWsError(
  socket: WebSocket,
  err: unknown,
  opts: {
    log?: FastifyBaseLogger;
    context?: Record<string, unknown>;
    close?: { code: number; reason: string };
  } = {},
): void {
  const { status, body } = toErrorResponse(err);
  if (status >= 500) opts.log?.error({ err, ...opts.context }, 'websocket request failed');
  if (socket.readyState === socket.OPEN) {
    socket.send(JSON.stringify({ type: 'error', code: body.error.code, message: body.error.message }));
  }
  if (opts.close) socket.close(opts.close.code, opts.close.reason);
}
