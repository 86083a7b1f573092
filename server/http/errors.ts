// One error envelope for every HTTP failure: { error: { code, message, detail?, fields? } }.
// Routes throw HttpError; the handler below also turns Fastify's and zod's errors into it, so
// no input can produce a bare 500 or a framework-shaped error body.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ErrorEnvelope } from '../../sdk/wire.js';
import { domainHttp } from './domainErrors.js';

type Field = { path: string; rule: string };

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { detail?: string; fields?: Field[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const unauthorized = (message = 'Sign in or pass an API token to use this endpoint.') =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'Your role does not allow this action.') =>
  new HttpError(403, 'forbidden', message);
export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} was not found.`);
export const conflict = (code: string, message: string) => new HttpError(409, code, message);

export function envelope(
  code: string,
  message: string,
  extra: { detail?: string; fields?: Field[] } = {},
): ErrorEnvelope {
  return {
    error: {
      code,
      message,
      ...(extra.detail ? { detail: extra.detail } : {}),
      ...(extra.fields ? { fields: extra.fields } : {}),
    },
  };
}

/** A zod failure on input checked inside a handler, as the same 400 the schema validation gives. */
export function invalidInput(
  part: string,
  issues: readonly { path: readonly PropertyKey[]; message: string; code: string; keys?: string[] }[],
): HttpError {
  const fields: Field[] = issues.flatMap((i) => {
    const path = [part, ...i.path.map(String)].join('.');
    return i.code === 'unrecognized_keys' && i.keys
      ? i.keys.map((k) => ({ path: `${path}.${k}`, rule: 'is not a known field' }))
      : [{ path, rule: i.message }];
  });
  const summary = fields.map((f) => `${f.path} ${f.rule}`).join('; ');
  return new HttpError(400, 'validation_failed', `The request is not valid: ${summary}.`, { fields });
}

interface ZodIssueLike {
  instancePath: string;
  message: string;
  keyword: string;
  params?: { keys?: string[] };
}

function validationFields(context: string | undefined, issues: ZodIssueLike[]): Field[] {
  const prefix = context ?? 'body';
  const fields: Field[] = [];
  for (const issue of issues) {
    const path = [prefix, ...issue.instancePath.split('/').filter(Boolean)].join('.');
    if (issue.keyword === 'unrecognized_keys' && issue.params?.keys) {
      for (const key of issue.params.keys)
        fields.push({ path: `${path}.${key}`, rule: 'is not a known field' });
    } else {
      fields.push({ path, rule: issue.message });
    }
  }
  return fields;
}

export interface ErrorResponse {
  status: number;
  body: ErrorEnvelope;
  headers?: Record<string, string>;
}

/**
 * Map any error to a status and envelope: our HttpError, every domain error (domainErrors.ts),
 * zod and Fastify errors. Anything else is a bug and becomes 500 with no internals exposed.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  const http = asHttpError(err);
  if (http) {
    return {
      status: http.status,
      body: envelope(http.code, http.message, http.extra),
      ...(http.extra.headers ? { headers: http.extra.headers } : {}),
    };
  }
  if (!(err instanceof Error)) return internal();
  const fe = err as FastifyError & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(fe)) {
    const fields = validationFields(fe.validationContext, fe.validation as unknown as ZodIssueLike[]);
    const summary = fields.map((f) => `${f.path} ${f.rule}`).join('; ');
    return {
      status: 400,
      body: envelope('validation_failed', `The request is not valid: ${summary}.`, { fields }),
    };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: envelope('payload_too_large', 'The request body is larger than this server accepts.'),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: envelope('unsupported_media_type', 'Send the request body as application/json.'),
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: envelope('malformed_json', 'The request says it has a JSON body but the body is empty.'),
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        body: envelope('malformed_json', 'The request body is not valid JSON.', { detail: fe.message }),
      };
  }
  if (fe instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return {
      status: 400,
      body: envelope('malformed_json', 'The request body is not valid JSON.', { detail: fe.message }),
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: envelope('bad_request', fe.message) };
  }
  return internal();
}

/** The error as an HttpError when it is one or a domain error or a zod failure; else undefined. */
export function asHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const d = domainHttp(err);
  if (d) return new HttpError(d.status, d.code, d.message);
  // A schema parsed inside a handler (the route's own schemas are checked before it runs).
  if (err instanceof z.ZodError) return invalidInput('input', err.issues);
  return undefined;
}

function internal(): ErrorResponse {
  return {
    status: 500,
    body: envelope(
      'internal',
      'Something went wrong on the server. The request id in the logs identifies it.',
    ),
  };
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body, headers } = toErrorResponse(err);
    if (status >= 500) req.log.error({ err, code: body.error.code }, 'request failed');
    if (headers) reply.headers(headers);
    return reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    return reply
      .code(404)
      .type('application/json')
      .send(envelope('route_not_found', `There is no ${req.method} ${req.url.split('?')[0]} route.`));
  });
}
