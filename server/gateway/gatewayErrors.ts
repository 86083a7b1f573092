// What the model gateway answers itself, in the Messages API's error shape
// (https://docs.anthropic.com/en/api/errors) so Claude Code shows the message to its user.
// Claude Code's Anthropic SDK obeys `x-should-retry` before its own rules (retry 408, 409, 429,
// 5xx), so refusals say "false" and only the gateway's own failures invite a retry.
import type http from 'node:http';
import type { Duplex } from 'node:stream';

/** Anthropic's error types (https://docs.anthropic.com/en/api/errors) the gateway answers with. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'api_error';

/**
 * A refusal any injected function may throw to answer the client with this status and message
 * (say, a saved key that no longer decrypts). Anything else thrown becomes a 500 api_error.
 */
export class GatewayRefusal extends Error {
  constructor(
    readonly status: number,
    readonly type: AnthropicErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayRefusal';
  }
}

/** An error body the Anthropic SDK parses, shows, and (from the header) does not retry unless 5xx. */
export function sendError(
  res: http.ServerResponse,
  status: number,
  type: AnthropicErrorType,
  message: string,
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-should-retry': status >= 500 ? 'true' : 'false',
  });
  res.end(body);
}

/** Bytes that do not parse as HTTP: a 400 unless a response is under way, then close. */
export function onClientError(err: NodeJS.ErrnoException, stream: Duplex): void {
  const inFlight = (stream as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || inFlight?.headersSent || !stream.writable) {
    stream.destroy();
    return;
  }
  const body = JSON.stringify({
    type: 'error',
    error: {
      type: 'invalid_request_error',
      message: `Remote Claude could not parse the request (${err.code ?? 'bad HTTP'}).`,
    },
  });
  stream.end(
    `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  stream.once('finish', () => setTimeout(() => stream.destroy(), 1000).unref());
}
