// A small typed client for /api/v1, used by the CLI (and usable from scripts). Every response is
// parsed with the same zod schema the server serialises with, so a drifting server is caught here.
import type { z } from 'zod';
import {
  AuditPage,
  type AuditQuery,
  CreatedToken,
  type CreateTokenBody,
  type CreateUserBody,
  ErrorEnvelope,
  Me,
  TokenList,
  User,
  UserList,
} from './wire.js';

/** A failed API call: the server's error envelope, or a transport failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: { path: string; rule: string }[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch;
}

export class ApiClient {
  private readonly baseUrl: string;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /** Sign in with a password; returns the session cookie (for minting a token) and who you are. */
  async login(email: string, password: string): Promise<{ me: Me; cookie: string }> {
    const res = await this.raw('POST', '/api/v1/auth/login', { email, password });
    const me = await this.parse(res, Me);
    const cookie = (res.headers.getSetCookie?.() ?? [])
      .map((c) => c.split(';')[0])
      .find((c) => c?.startsWith('rc_session='));
    if (!cookie) throw new ApiError(0, 'no_session', 'The server did not start a session.');
    return { me, cookie };
  }

  /** Create a token using a browser session (cookie + CSRF token) instead of a bearer token. */
  /** Replace a one-time password using the browser session it signed in with. */
  async changePasswordWithSession(
    cookie: string,
    csrfToken: string,
    userId: string,
    currentPassword: string,
    password: string,
  ): Promise<void> {
    const res = await this.raw(
      'PATCH',
      `/api/v1/users/${encodeURIComponent(userId)}`,
      { password, currentPassword },
      {
        cookie,
        'x-csrf-token': csrfToken,
      },
    );
    await this.parse(res, User);
  }

  async createTokenWithSession(
    cookie: string,
    csrfToken: string,
    body: CreateTokenBody,
  ): Promise<CreatedToken> {
    const res = await this.raw('POST', '/api/v1/tokens', body, { cookie, 'x-csrf-token': csrfToken });
    return this.parse(res, CreatedToken);
  }

  async logoutSession(cookie: string, csrfToken: string): Promise<void> {
    await this.raw('POST', '/api/v1/auth/logout', undefined, { cookie, 'x-csrf-token': csrfToken });
  }

  me(): Promise<Me> {
    return this.call('GET', '/api/v1/me', Me);
  }
  listUsers() {
    return this.call('GET', '/api/v1/users', UserList);
  }
  createUser(body: CreateUserBody) {
    return this.call('POST', '/api/v1/users', User, body);
  }
  createToken(body: CreateTokenBody) {
    return this.call('POST', '/api/v1/tokens', CreatedToken, body);
  }
  listTokens() {
    return this.call('GET', '/api/v1/tokens', TokenList);
  }
  async revokeToken(id: string): Promise<void> {
    const res = await this.raw('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
    if (!res.ok) await this.parse(res, ErrorEnvelope);
  }
  listAudit(query: AuditQuery) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.call('GET', `/api/v1/audit${qs ? `?${qs}` : ''}`, AuditPage);
  }

  private async call<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    body?: unknown,
  ): Promise<z.output<T>> {
    return this.parse(await this.raw(method, path, body), schema);
  }

  private async raw(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    try {
      return await (this.opts.fetch ?? fetch)(`${this.baseUrl}${path}`, {
        method,
        headers: h,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ApiError(
        0,
        'unreachable',
        `Cannot reach ${this.baseUrl} (${why}). Is the server running, and is the URL right?`,
      );
    }
  }

  private async parse<T extends z.ZodType>(res: Response, schema: T): Promise<z.output<T>> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(
        res.status,
        'bad_response',
        `The server answered ${res.status} with something that is not JSON.`,
      );
    }
    if (!res.ok) {
      const env = ErrorEnvelope.safeParse(json);
      if (env.success)
        throw new ApiError(res.status, env.data.error.code, env.data.error.message, env.data.error.fields);
      throw new ApiError(res.status, 'http_error', `The server answered ${res.status}.`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new ApiError(res.status, 'bad_response', 'The server answered in an unexpected shape.');
    return parsed.data;
  }
}
