// The one error type of the API client, for the browser and Node alike: the server's error
// envelope ({ error: { code, message, fields? } }, server/http/errors.ts), or a failure to reach
// the server or to understand its answer.
import type { ErrorEnvelope } from '../wire.js';

/** A failed API call: the server's error envelope, or a transport failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The input paths that failed validation (`body.email`), with the rule each broke. */
    readonly fields: { path: string; rule: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The ApiError of a refused request, from its status and parsed body. The envelope is checked by
 * hand rather than with the zod schema, so the browser's production bundle carries no zod.
 */
export function refusalError(status: number, json: unknown, fallback?: string): ApiError {
  const error = (json as Partial<ErrorEnvelope> | undefined)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string')
    return new ApiError(status, error.code, error.message, Array.isArray(error.fields) ? error.fields : []);
  return new ApiError(status, 'http_error', fallback ?? `The server answered ${status}.`);
}

/** The ApiError of a fetch that never got an answer. */
export function unreachableError(baseUrl: string, err: unknown): ApiError {
  // A page talks to its own origin, where a URL in the message would say nothing to its user.
  if (!baseUrl)
    return new ApiError(0, 'unreachable', 'The server could not be reached. Check your connection.');
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ApiError(
    0,
    'unreachable',
    `Cannot reach ${baseUrl} (${why}). Is the server running, and is the URL right?`,
  );
}

/** JSON.parse that answers undefined for text that is not JSON. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
