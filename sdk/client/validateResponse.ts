// Checks an answer against the schema the server serialises it with, so a drifting server is
// caught at the call rather than as an undefined field three components later. Node clients
// always validate; the web dashboard only in development builds (web/api/client.ts).

import { type ResponseKind, responseSchemas } from './responseSchemas.js';
import type { ResponseValidator } from './transport.js';

/** Throws an Error naming the first mismatching field; returns the parsed value. */
export const validateResponse: ResponseValidator = (kind: ResponseKind, json: unknown) => {
  const parsed = responseSchemas[kind].safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'the body';
  throw new Error(`${kind}: ${where} ${issue?.message ?? 'does not match'}`);
};
