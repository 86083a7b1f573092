// A small typed client for /api/v1, used by the CLI (and usable from scripts). Every response is
// parsed with the same zod schema the server serialises with, so a drifting server is caught here.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import type { z } from 'zod';
import { SseParser } from './sseParser.js';
import {
  type ApprovalBody,
  ApprovalList,
  type CreateTaskBody,
  Task,
  TaskEvent,
  TaskEventPage,
  type TaskListQuery,
  TaskPage,
} from './taskWire.js';
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
import {
  type CreateWorkspaceBody,
  FileListing,
  FileWritten,
  Workspace,
  WorkspaceList,
  type WorkspaceStatus,
} from './workspaceWire.js';

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

export type DirectoryListing = z.output<typeof FileListing>;
export type WrittenFile = z.output<typeof FileWritten>;

/** What a path in a workspace holds: a directory's listing, or a file's bytes as a stream. */
export type WorkspacePathContent =
  | { type: 'dir'; listing: DirectoryListing }
  | { type: 'file'; size: number | undefined; body: Readable };

/** Open a new terminal of this size, or attach to a running one. */
export type TerminalTarget = { cols: number; rows: number } | { terminalId: string };

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

  // ---- workspaces ----

  /** Creates your workspace for a repository, or returns the one you have (`created` false). */
  async createWorkspace(body: CreateWorkspaceBody): Promise<{ workspace: Workspace; created: boolean }> {
    const res = await this.raw('POST', '/api/v1/workspaces', body);
    return { workspace: await this.parse(res, Workspace), created: res.status === 201 };
  }
  listWorkspaces(query: { owner?: string; status?: WorkspaceStatus; repository?: string } = {}) {
    return this.call('GET', `/api/v1/workspaces${queryString(query)}`, WorkspaceList);
  }
  getWorkspace(id: string) {
    return this.call('GET', workspacePath(id), Workspace);
  }
  /** Answers at once with status starting; poll getWorkspace until running or failed. */
  startWorkspace(id: string) {
    return this.call('POST', `${workspacePath(id)}/start`, Workspace);
  }
  /** Answers once the workspace has stopped. */
  stopWorkspace(id: string) {
    return this.call('POST', `${workspacePath(id)}/stop`, Workspace);
  }
  async deleteWorkspace(id: string, opts: { keepVolume?: boolean } = {}): Promise<void> {
    const res = await this.raw(
      'DELETE',
      `${workspacePath(id)}${queryString({ keepVolume: opts.keepVolume })}`,
    );
    if (!res.ok) await this.parse(res, ErrorEnvelope);
  }

  // ---- workspace files (paths are relative to /workspace; '' is /workspace itself) ----

  /**
   * A directory's listing or a file's bytes, whichever `path` is. The caller must consume or
   * destroy a file's `body`.
   */
  async readPath(id: string, path: string): Promise<WorkspacePathContent> {
    const res = await this.send('GET', filesPath(id, path));
    if (!res.ok) await this.parse(res, ErrorEnvelope);
    if (res.headers.get('content-type')?.startsWith('application/json'))
      return { type: 'dir', listing: await this.parse(res, FileListing) };
    const length = res.headers.get('content-length');
    return { type: 'file', size: length === null ? undefined : Number(length), body: toReadable(res) };
  }

  /** A directory's entries; ApiError `not_a_directory` when `path` is a file. */
  async listFiles(id: string, path: string): Promise<DirectoryListing> {
    const content = await this.readPath(id, path);
    if (content.type === 'dir') return content.listing;
    content.body.destroy();
    throw new ApiError(400, 'not_a_directory', `${path} is a file, not a directory.`);
  }

  /** A file's bytes as a stream; ApiError `is_a_directory` when `path` is a directory. */
  async readFile(id: string, path: string): Promise<Readable> {
    const content = await this.readPath(id, path);
    if (content.type === 'file') return content.body;
    throw new ApiError(400, 'is_a_directory', `${path || 'The workspace root'} is a directory, not a file.`);
  }

  /** A file's bytes, whole. Files are limited by the server's workspaces.fileSizeLimit. */
  async readFileBuffer(id: string, path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.readFile(id, path)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Writes a file (creating parent directories), streaming `body`; resolves with its size. */
  async writeFile(id: string, path: string, body: Readable | Buffer | string): Promise<WrittenFile> {
    const res = await this.send('PUT', filesPath(id, path), {
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : Readable.toWeb(body),
      headers: { 'content-type': 'application/octet-stream' },
    });
    return this.parse(res, FileWritten);
  }

  /** A directory (and everything under it) as a tar.gz stream; entries are named as in /workspace. */
  async downloadArchive(id: string, path: string): Promise<Readable> {
    const res = await this.send('GET', `${filesPath(id, path)}?download=true`);
    if (!res.ok) await this.parse(res, ErrorEnvelope);
    return toReadable(res);
  }

  /** Creates a directory (and its parents). */
  async makeDirectory(id: string, path: string): Promise<void> {
    const res = await this.raw('POST', filesPath(id, path), { op: 'mkdir' });
    if (!res.ok) await this.parse(res, ErrorEnvelope);
  }

  /** Deletes a file, or a directory (`recursive` when it is not empty). */
  async deleteFile(id: string, path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const res = await this.raw(
      'DELETE',
      `${filesPath(id, path)}${queryString({ recursive: opts.recursive })}`,
    );
    if (!res.ok) await this.parse(res, ErrorEnvelope);
  }

  // ---- terminals ----

  /** The WebSocket URL of a workspace's terminals: a new one of a size, or one to attach to. */
  terminalUrl(id: string, target: TerminalTarget): string {
    const url = new URL(`${this.baseUrl}${workspacePath(id)}/terminals`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if ('terminalId' in target) url.searchParams.set('terminalId', target.terminalId);
    else {
      url.searchParams.set('cols', String(target.cols));
      url.searchParams.set('rows', String(target.rows));
    }
    return url.toString();
  }

  /**
   * Connects to a terminal (see server/http/routes/terminalRoutes.ts for the protocol). Returned
   * at once, so listeners are in place before the first message; a refusal (HTTP status before the
   * upgrade) arrives as an `error` event carrying an ApiError, followed by `close`.
   */
  openTerminal(id: string, target: TerminalTarget): WebSocket {
    const headers: Record<string, string> = {};
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const socket = new WebSocket(this.terminalUrl(id, target), { headers });
    socket.on('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      // ws turns an error on its handshake request into one `error` event and a `close`.
      const fail = (err: Error) => {
        req.destroy();
        req.emit('error', err);
      };
      res.on('end', () => fail(refusal(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', () => fail(refusal(res.statusCode ?? 0, '')));
    });
    return socket;
  }

  // ---- tasks (server/http/routes/taskRoutes.ts, taskEventRoutes.ts) ----

  /** Queues a task; it starts once its workspace runs (status `queued` until then). */
  createTask(body: CreateTaskBody) {
    return this.call('POST', '/api/v1/tasks', Task, body);
  }
  /** A page of tasks, newest first; pass `next` back as `cursor` for the following page. */
  listTasks(query: Partial<z.input<typeof TaskListQuery>> = {}) {
    const { limit, ...rest } = query;
    return this.call(
      'GET',
      `/api/v1/tasks${queryString({ ...rest, limit: limit === undefined ? undefined : String(limit) })}`,
      TaskPage,
    );
  }
  getTask(id: string) {
    return this.call('GET', taskPath(id), Task);
  }
  /** Stored events after seq `after` (default 0), oldest first; `next` is the `after` of the next page. */
  taskEvents(id: string, page: { after?: number; limit?: number } = {}) {
    const qs = queryString({
      after: page.after === undefined ? undefined : String(page.after),
      limit: page.limit === undefined ? undefined : String(page.limit),
    });
    return this.call('GET', `${taskPath(id)}/events${qs}`, TaskEventPage);
  }
  /** A follow-up: to the running turn, or resuming a finished task. 409 for a cancelled or queued one. */
  sendTaskMessage(id: string, text: string) {
    return this.call('POST', `${taskPath(id)}/messages`, Task, { text });
  }
  /** Ends the running turn; the task then waits for a follow-up (`waiting_for_input`). */
  interruptTask(id: string) {
    return this.call('POST', `${taskPath(id)}/interrupt`, Task);
  }
  cancelTask(id: string) {
    return this.call('POST', `${taskPath(id)}/cancel`, Task);
  }
  listApprovals(id: string, status?: 'pending' | 'allowed' | 'denied') {
    return this.call('GET', `${taskPath(id)}/approvals${queryString({ status })}`, ApprovalList);
  }
  answerApproval(id: string, approvalId: string, body: z.input<typeof ApprovalBody>) {
    return this.call('POST', `${taskPath(id)}/approvals/${encodeURIComponent(approvalId)}`, Task, body);
  }

  /**
   * The task's events after seq `after` as they happen: the stored history first, then live, each
   * once and in order, over Server-Sent Events. It never ends by itself (a task's log can always
   * grow); stop it with `signal` or by leaving the loop. A dropped connection is resumed once from
   * the last seq received (Last-Event-ID); if that fails too, or the resumed stream drops again
   * before delivering anything, it throws ApiError `stream_dropped`. Refusals (404, 401) throw
   * ApiError at once.
   */
  async *followTaskEvents(
    id: string,
    opts: { after?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<TaskEvent, void, undefined> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) stop.abort();
    let last = opts.after ?? 0;
    let mayResume = true;
    try {
      while (!stop.signal.aborted) {
        const body = await this.openTaskEventStream(id, last, stop.signal);
        if (!body) return;
        const reader = body.getReader();
        const parser = new SseParser();
        const decoder = new TextDecoder();
        let why = 'the server closed the stream';
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            for (const m of parser.push(decoder.decode(value, { stream: true }))) {
              if (m.event !== 'task_event') continue;
              const event = parseTaskEvent(m.data);
              if (event.seq <= last) continue;
              last = event.seq;
              mayResume = true;
              yield event;
              if (stop.signal.aborted) return;
            }
          }
        } catch (err) {
          if (stop.signal.aborted) return;
          if (err instanceof ApiError) throw err;
          why = (err as Error).message;
        } finally {
          // Releasing a stream that already failed or ended; its error was handled above.
          void reader.cancel().catch(() => {});
        }
        if (!mayResume)
          throw new ApiError(
            0,
            'stream_dropped',
            `The event stream of task ${id} dropped again after resuming (${why}).`,
          );
        mayResume = false;
        // Rejects only when `stop` aborts, which the loop checks next.
        await delay(RESUME_DELAY_MS, undefined, { signal: stop.signal }).catch(() => {});
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  /** The body of an SSE answer for the task's events after `after`; undefined once `signal` aborts. */
  private async openTaskEventStream(
    id: string,
    after: number,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array> | undefined> {
    const h: Record<string, string> = { accept: 'text/event-stream' };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    if (after > 0) h['last-event-id'] = String(after);
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(`${this.baseUrl}${taskPath(id)}/events?after=${after}`, {
        headers: h,
        signal,
      });
    } catch (err) {
      if (signal.aborted) return undefined;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ApiError(
        0,
        'unreachable',
        `Cannot reach ${this.baseUrl} (${why}). Is the server running, and is the URL right?`,
      );
    }
    if (!res.ok) await this.parse(res, ErrorEnvelope);
    if (!res.headers.get('content-type')?.startsWith('text/event-stream') || !res.body) {
      await res.body?.cancel();
      throw new ApiError(res.status, 'bad_response', 'The server did not answer with an event stream.');
    }
    return res.body as ReadableStream<Uint8Array>;
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

  /** Like `raw`, for bodies that are not JSON (bytes, streams) and answers that may not be. */
  private async send(
    method: string,
    path: string,
    init: { body?: string | Buffer | WebReadableStream; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const h: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    try {
      return await (this.opts.fetch ?? fetch)(`${this.baseUrl}${path}`, {
        method,
        headers: h,
        // A stream body needs half duplex (https://github.com/whatwg/fetch/pull/1457).
        ...(init.body !== undefined
          ? { body: init.body as NonNullable<RequestInit['body']>, duplex: 'half' }
          : {}),
      } as RequestInit);
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

/** Wait before resuming a dropped event stream, so a server that is restarting has a moment. */
const RESUME_DELAY_MS = 250;

function taskPath(id: string): string {
  return `/api/v1/tasks/${encodeURIComponent(id)}`;
}

function parseTaskEvent(data: string): TaskEvent {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    json = undefined;
  }
  const parsed = TaskEvent.safeParse(json);
  if (!parsed.success)
    throw new ApiError(200, 'bad_response', 'The server sent a task event in an unexpected shape.');
  return parsed.data;
}

function workspacePath(id: string): string {
  return `/api/v1/workspaces/${encodeURIComponent(id)}`;
}

/** `/api/v1/workspaces/:id/files/<path>`, each path segment encoded. */
function filesPath(id: string, path: string): string {
  return `${workspacePath(id)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

function queryString(query: Record<string, string | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

function toReadable(res: Response): Readable {
  return res.body ? Readable.fromWeb(res.body as WebReadableStream) : Readable.from([]);
}

/** The ApiError of an HTTP answer that refused a WebSocket upgrade. */
function refusal(status: number, text: string): ApiError {
  try {
    const env = ErrorEnvelope.safeParse(JSON.parse(text));
    if (env.success)
      return new ApiError(status, env.data.error.code, env.data.error.message, env.data.error.fields);
  } catch {
    // not JSON: the generic message below
  }
  return new ApiError(status, 'http_error', `The server refused the connection (${status}).`);
}
