import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * PostgreSQL text cannot hold U+0000, and no field of ours has a use for it, so requests with
 * a NUL anywhere in their JSON body or query string are refused up front with the field named,
 * instead of failing deep in the store as a 500.
 */
export async function rejectNul(req: FastifyRequest): Promise<void> {
  for (const [part, value] of [
    ['body', req.body],
    ['querystring', req.query],
  ] as const) {
    const path = findNul(value, part);
    if (path) {
      throw new HttpError(
        400,
        'validation_failed',
        `The request is not valid: ${path} must not contain NUL characters.`,
        {
          fields: [{ path, rule: 'must not contain NUL characters' }],
        },
      );
    }
  }
}

function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value && typeof value === 'object') {
    // Only parsed JSON and query objects: a streamed body (a file upload) is not walked.
    if (typeof (value as { pipe?: unknown }).pipe === 'function' || ArrayBuffer.isView(value))
      return undefined;
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return `${path}.${k.replaceAll('\u0000', '\\0')}`;
      const found = findNul(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}
