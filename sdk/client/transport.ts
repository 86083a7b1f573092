// How every call of the API client reaches the server: fetch with the caller's credentials (a
// bearer token, a session cookie, or a browser session's CSRF token), the error envelope turned
// into an ApiError, and each answer checked by an optional validator. Nothing here is Node-only:
// the browser dashboard and the CLI share it (Node's own parts are in nodeApiClient.ts).
import { ApiError, parseJsonOrUndefined, refusalError, unreachableError } from './apiError.js';
import type { ResponseKind, ResponseOf } from './responseSchemas.js';

/**
 * Checks an answer of `kind` and returns the value to use, or throws an Error saying what does
 * not match. validateResponse.ts is the one built on the sdk's zod schemas; it may be loaded
 * lazily, so the result may be a promise.
 */
export type ResponseValidator = (kind: ResponseKind, json: unknown) => unknown | Promise<unknown>;

export interface ClientOptions {
  /** The server's origin, e.g. http://127.0.0.1:8080; '' for the page's own origin in a browser. */
  baseUrl: string;
  /** An API token, sent as `Authorization: Bearer`. */
  token?: string | undefined;
  /** Headers for every request (a Node client signed in with a password sends its cookie so). */
  headers?: Record<string, string>;
  /** The session's CSRF token, read at each mutation (browser sessions; see server/auth). */
  csrfToken?: () => string;
  /** Without one, answers are trusted as they come (the production dashboard, to stay small). */
  validate?: ResponseValidator | undefined;
  fetch?: typeof fetch;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SendInit {
  /** A body sent as JSON. */
  json?: unknown;
  /** A body sent as it is: bytes, text, a Blob, FormData or a stream. */
  body?: NonNullable<RequestInit['body']>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class Transport {
  readonly baseUrl: string;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /** Sends a request and returns the answer whatever its status; ApiError `unreachable` if none. */
  async send(method: Method, path: string, init: SendInit = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.opts.headers };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (method !== 'GET' && this.opts.csrfToken) headers['x-csrf-token'] = this.opts.csrfToken();
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    Object.assign(headers, init.headers);
    const streamed = typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
    try {
      return await (this.opts.fetch ?? fetch)(this.url(path), {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        // A stream body needs half duplex (https://github.com/whatwg/fetch/pull/1457).
        ...(streamed ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw unreachableError(this.baseUrl, err);
    }
  }

  /** Calls and parses a JSON answer of `kind`. */
  async call<K extends ResponseKind>(
    method: Method,
    path: string,
    kind: K,
    json?: unknown,
  ): Promise<ResponseOf<K>> {
    return this.expect(await this.send(method, path, json === undefined ? {} : { json }), kind);
  }

  /** Calls a route that answers with no body (204). */
  async callVoid(method: Method, path: string, json?: unknown): Promise<void> {
    await this.expectOk(await this.send(method, path, json === undefined ? {} : { json }));
  }

  /** The answer's JSON as `kind`; ApiError for a refusal, or for a body that is not of that kind. */
  async expect<K extends ResponseKind>(res: Response, kind: K): Promise<ResponseOf<K>> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      if (!res.ok) throw refusalError(res.status, undefined);
      throw new ApiError(
        res.status,
        'bad_response',
        `The server answered ${res.status} with something that is not JSON.`,
      );
    }
    if (!res.ok) throw refusalError(res.status, json);
    return this.check(kind, json, res.status);
  }

  /** Throws the ApiError of a refused answer; otherwise drops the body. */
  async expectOk(res: Response): Promise<void> {
    if (!res.ok) throw refusalError(res.status, parseJsonOrUndefined(await res.text()));
    await res.body?.cancel();
  }

  /** `json` as `kind`, through the validator when there is one. */
  async check<K extends ResponseKind>(kind: K, json: unknown, status = 200): Promise<ResponseOf<K>> {
    if (!this.opts.validate) return json as ResponseOf<K>;
    try {
      return (await this.opts.validate(kind, json)) as ResponseOf<K>;
    } catch (err) {
      throw new ApiError(
        status,
        'bad_response',
        `The server answered in an unexpected shape (${(err as Error).message}).`,
      );
    }
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** The ws:// or wss:// URL of `path`, on the server's origin (the page's own in a browser). */
  socketUrl(path: string): string {
    const page = (globalThis as { location?: { href: string } }).location?.href;
    const url = new URL(this.url(path), page);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }
}

/** `?a=1&b=x` from the values that are set, or '' when none is. */
export function queryString(query: Record<string, string | number | boolean | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

/** A path segment, encoded so an id can never be read as URL syntax. */
export const seg = encodeURIComponent;
