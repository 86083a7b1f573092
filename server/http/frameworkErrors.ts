// Errors that Fastify and Node's HTTP parser raise before any route runs, in the same envelope
// as every other failure. Without these, a bad percent-encoding or an overlong parameter gets
// Fastify's own body, and a malformed request gets Node's bare "400" with no body at all.
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorEnvelope } from '../../sdk/wire.js';
import { envelope } from './errors.js';

/** Fastify's `frameworkErrors`: routing failures, which never reach the error handler. */
export function onFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = frameworkError(err.code);
  if (status >= 500) req.log.error({ err }, 'request failed');
  reply.header('x-request-id', req.id).code(status).type('application/json').send(body);
}

function frameworkError(code: string): { status: number; body: ErrorEnvelope } {
  switch (code) {
    case 'FST_ERR_BAD_URL':
      return {
        status: 400,
        body: envelope(
          'bad_url',
          'The URL path is not valid: every "%" must start an escape of two hex digits that decodes to UTF-8.',
        ),
      };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        status: 414,
        body: envelope('uri_too_long', 'A path parameter of this URL is longer than any valid value.'),
      };
    default:
      return {
        status: 500,
        body: envelope(
          'internal',
          'Something went wrong on the server. The request id in the logs identifies it.',
        ),
      };
  }
}

/** What a parser error from Node (`clientError`) is answered with. */
export function clientErrorResponse(err: Error & { code?: string }): {
  status: number;
  reason: string;
  body: ErrorEnvelope;
} {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      reason: 'Request Timeout',
      body: envelope(
        'request_timeout',
        'The request was not received in time (server.headersTimeout, server.requestTimeout).',
      ),
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      reason: 'Request Header Fields Too Large',
      body: envelope(
        'headers_too_large',
        `The request line and headers are larger than this server accepts (${maxHeaderSize} bytes).`,
      ),
    };
  }
  // llhttp's reasons are short and fixed ("Transfer-Encoding can't be present with Content-Length").
  const why = err.message.replace(/^Parse Error: /, '');
  return {
    status: 400,
    reason: 'Bad Request',
    body: envelope('malformed_http', `The request is not valid HTTP/1.1: ${why}.`),
  };
}

/**
 * Fastify's `clientErrorHandler`: there is no request or reply here, only the socket, so the
 * response is written by hand and the connection closed (its stream can no longer be trusted).
 */
export function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // As Node's own handler does: write only when no response on this connection has begun, or
  // the bytes would land in the middle of it.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !current?.headersSent) {
    const { status, reason, body } = clientErrorResponse(err);
    const json = JSON.stringify(body);
    const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n`;
    // Destroyed once the answer is out, not before, so the client can read it.
    socket.end(head + json, () => socket.destroy());
    return;
  }
  socket.destroy();
}
