// The API client as the CLI uses it: every answer validated, file bytes as Node streams,
// terminals over the `ws` package (which can send a bearer token, unlike a browser WebSocket),
// and the password sign-in that hands back a session cookie. Only cli/ (and tests) import this.
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import WebSocket from 'ws';
import type { Me } from '../wire.js';
import { ApiClient } from './apiClient.js';
import { ApiError, parseJsonOrUndefined, refusalError } from './apiError.js';
import type { DirectoryListing, WriteOptions } from './filesApi.js';
import type { TerminalTarget } from './terminalsApi.js';
import type { ClientOptions } from './transport.js';
import { validateResponse } from './validateResponse.js';

/** What a path in a workspace holds: a directory's listing, or a file's bytes as a stream. */
export type WorkspacePathContent =
  | { type: 'dir'; listing: DirectoryListing }
  | { type: 'file'; size: number | undefined; etag: string | undefined; body: Readable };

/** A password session: its cookie and CSRF token, for calls made as the browser would. */
export interface PasswordSession {
  me: Me;
  /** A client that acts through the session (cookie and CSRF token on every call). */
  client: ApiClient;
}

export class NodeApiClient extends ApiClient {
  constructor(options: ClientOptions) {
    super({ validate: validateResponse, ...options });
  }

  /** Signs in with a password and returns a client acting through the new session. */
  async loginSession(email: string, password: string): Promise<PasswordSession> {
    const res = await this.transport.send('POST', '/api/v1/auth/login', { json: { email, password } });
    const me = await this.transport.expect(res, 'Me');
    const cookie = (res.headers.getSetCookie?.() ?? [])
      .map((c) => c.split(';')[0])
      .find((c) => c?.startsWith('rc_session='));
    if (!cookie) throw new ApiError(0, 'no_session', 'The server did not start a session.');
    const csrf = me.csrfToken ?? '';
    const client = new ApiClient({ ...this.options, headers: { cookie }, csrfToken: () => csrf });
    return { me, client };
  }

  /** Like `files.read`, with a file's bytes as a Node stream the caller must consume or destroy. */
  async readPath(id: string, path: string): Promise<WorkspacePathContent> {
    const content = await this.files.read(id, path);
    if (content.type === 'dir') return content;
    return {
      type: 'file',
      size: content.size,
      etag: content.etag,
      body: Readable.fromWeb(content.body as NodeWebStream),
    };
  }

  /** A file's bytes as a stream; ApiError `is_a_directory` when `path` is a directory. */
  async readFile(id: string, path: string): Promise<Readable> {
    const content = await this.readPath(id, path);
    if (content.type === 'file') return content.body;
    throw new ApiError(400, 'is_a_directory', `${path || 'The workspace root'} is a directory, not a file.`);
  }

  /** Writes a file, streaming `body` when it is a stream; resolves with its size and ETag. */
  writeFile(id: string, path: string, body: Readable | Buffer | string, opts: WriteOptions = {}) {
    const bytes =
      typeof body === 'string' || Buffer.isBuffer(body)
        ? body
        : (Readable.toWeb(body) as unknown as ReadableStream);
    return this.files.write(id, path, bytes, opts);
  }

  /** A directory (and everything under it) as a tar.gz stream. */
  async downloadArchive(id: string, path: string): Promise<Readable> {
    return Readable.fromWeb((await this.files.archive(id, path)) as NodeWebStream);
  }

  /**
   * Connects to a terminal (see server/http/routes/terminalRoutes.ts for the protocol). Returned
   * at once, so listeners are in place before the first message; a refusal (HTTP status before the
   * upgrade) arrives as an `error` event carrying an ApiError, followed by `close`. A terminal to
   * attach to that is not open closes with code WS_NOT_FOUND (sdk/limits.ts) and a reason.
   */
  openTerminal(id: string, target: TerminalTarget): WebSocket {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const socket = new WebSocket(this.terminals.url(id, target), { headers });
    socket.on('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      // ws turns an error on its handshake request into one `error` event and a `close`.
      const fail = (err: Error) => {
        req.destroy();
        req.emit('error', err);
      };
      const refused = (text: string) =>
        refusalError(
          res.statusCode ?? 0,
          parseJsonOrUndefined(text),
          `The server refused the connection (${res.statusCode ?? 0}).`,
        );
      res.on('end', () => fail(refused(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', () => fail(refused('')));
    });
    return socket;
  }
}
