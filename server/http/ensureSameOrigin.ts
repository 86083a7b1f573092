// The one origin check for streams. A browser attaches the session cookie to a WebSocket
// handshake from any page, and the same-origin policy does not protect a WebSocket's answer, so
// without this a page on another port or subdomain of the same site could read a task's whole
// conversation or type into a terminal. EventSource requests are covered too, as a second line
// behind CORS. It runs on every route (an `onRequest` hook), so a new streaming route is covered
// without anyone remembering to call it.
import type { FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../auth/authenticator.js';
import { HttpError } from './errors.js';

/** A WebSocket handshake or an EventSource request: the two ways a browser opens a stream. */
export function isStreamRequest(req: FastifyRequest): boolean {
  return (
    req.headers.upgrade?.toLowerCase() === 'websocket' ||
    (req.headers.accept ?? '').includes('text/event-stream')
  );
}

/**
 * Throws 403 cross_origin for a stream opened with the session cookie from a page that is not
 * ours: its `Origin` must be the platform's public URL, or name the host and port the request
 * was sent to. A request with an `Authorization` header is authenticated by
 * that header alone (server/auth/authenticator.ts never falls back to the cookie), and a page on
 * another site cannot know the token, so it needs no check. Requests with no `Origin` come from
 * programs, not from a page.
 */
export function ensureSameOrigin(req: FastifyRequest, publicUrl: string): void {
  if (req.headers.authorization !== undefined || !req.cookies[SESSION_COOKIE]) return;
  const origin = req.headers.origin;
  if (origin === undefined || isOwnOrigin(origin, req, publicUrl)) return;
  throw new HttpError(
    403,
    'cross_origin',
    `A stream opened with the session cookie must come from this site's own pages, not from ${describe(origin)}.`,
  );
}

function isOwnOrigin(origin: string, req: FastifyRequest, publicUrl: string): boolean {
  let given: URL;
  try {
    given = new URL(origin);
  } catch {
    return false;
  }
  if (given.origin === new URL(publicUrl).origin) return true;
  // The host and port the request was sent to, whatever the scheme: behind a proxy that ends TLS
  // the page is https and the request to us http. `req.host` follows X-Forwarded-Host only when
  // server.trustProxy is set.
  try {
    return given.host === new URL(`http://${req.host}`).host && given.host !== '';
  } catch {
    return false;
  }
}

function describe(origin: string): string {
  return /^[\x21-\x7e]{1,200}$/.test(origin) ? origin : 'another origin';
}
