import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * The deepest nesting of objects and arrays a JSON body may have. No request of ours needs more
 * than a handful of levels; the bound keeps a hostile body (thousands of `[` in a row) from
 * costing more than a glance, here or in any code that walks the body after us.
 */
export const MAX_JSON_DEPTH = 64;

const DEPTH_RULE = `must not be nested more than ${MAX_JSON_DEPTH} levels deep`;
const NUL_RULE = 'must not contain NUL characters';

/**
 * Screens a parsed JSON body and the query string before validation (and so before
 * authentication), refusing with 400 and the offending path:
 * - nesting deeper than MAX_JSON_DEPTH;
 * - a NUL anywhere, in a key or a string: PostgreSQL text cannot hold U+0000 and no field of ours
 *   has a use for it, so it is refused here instead of failing deep in the store as a 500.
 * The walk is iterative, so no body can exhaust the stack.
 */
export async function screenInput(req: FastifyRequest): Promise<void> {
  for (const [part, value] of [
    ['body', req.body],
    ['querystring', req.query],
  ] as const) {
    const found = findProblem(value, part);
    if (found) {
      throw new HttpError(
        400,
        'validation_failed',
        `The request is not valid: ${found.path} ${found.rule}.`,
        {
          fields: [found],
        },
      );
    }
  }
}

/** The first NUL or over-deep value in `root`, depth first, or undefined. */
export function findProblem(root: unknown, rootPath: string): { path: string; rule: string } | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value: root, path: rootPath, depth: 0 },
  ];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, path, depth } = item;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { path, rule: NUL_RULE };
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    // Only parsed JSON and query objects: a streamed body (a file upload) is not walked.
    if (typeof (value as { pipe?: unknown }).pipe === 'function' || ArrayBuffer.isView(value)) continue;
    if (depth >= MAX_JSON_DEPTH) return { path, rule: DEPTH_RULE };
    const children: typeof stack = [];
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return { path: `${path}.${k.replaceAll('\u0000', '\\0')}`, rule: NUL_RULE };
      children.push({ value: v, path: `${path}.${k}`, depth: depth + 1 });
    }
    // Reversed, so the first key is looked at first and the answer names the first problem.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as (typeof stack)[number]);
  }
  return undefined;
}
