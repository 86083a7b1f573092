// A workspace's files (server/http/routes/fileRoutes.ts). Paths are relative to /workspace ('' is
// /workspace itself); each segment is encoded on its own, so names with spaces, "#" or "?" reach
// the server as names and never as URL syntax.
import { ApiError } from './apiError.js';
import type { ResponseOf } from './responseSchemas.js';
import { queryString, seg, type Transport } from './transport.js';
import { workspacePath } from './workspacesApi.js';

export type DirectoryListing = ResponseOf<'FileListing'>;
/** A written file, with its new ETag (none from a server or agent too old to give one). */
export type WrittenFile = ResponseOf<'FileWritten'> & { etag: string | undefined };
/**
 * A file's bytes as the answer streams them, with its ETag to pass to `write` as `ifMatch`; or a
 * directory's listing.
 */
export type PathContent =
  | { type: 'dir'; listing: DirectoryListing }
  | {
      type: 'file';
      size: number | undefined;
      etag: string | undefined;
      body: ReadableStream<Uint8Array>;
    };
/** A file as text, with the ETag it had when read. */
export type TextFile = { text: string; etag: string | undefined };

export interface WriteOptions {
  /**
   * Write only if the file still has this ETag (from `read`/`readText` or an earlier `write`), or
   * `*`: only if it exists. Otherwise the write fails with ApiError 412 `precondition_failed`.
   * Without it the file is replaced whatever happened to it meanwhile.
   */
  ifMatch?: string;
}

export type FileBody = NonNullable<RequestInit['body']>;

/** `/api/v1/workspaces/:id/files/<path>`. */
export function filesPath(id: string, path: string, query = ''): string {
  return `${workspacePath(id)}/files/${path.split('/').filter(Boolean).map(seg).join('/')}${query}`;
}

export class FilesApi {
  constructor(private readonly t: Transport) {}

  /** A directory's listing or a file's bytes, whichever `path` is. Consume or cancel a file's body. */
  async read(id: string, path: string): Promise<PathContent> {
    const res = await this.t.send('GET', filesPath(id, path));
    if (!res.ok) await this.t.expectOk(res);
    if (res.headers.get('content-type')?.startsWith('application/json'))
      return { type: 'dir', listing: await this.t.expect(res, 'FileListing') };
    const length = res.headers.get('content-length');
    return {
      type: 'file',
      size: length === null ? undefined : Number(length),
      etag: res.headers.get('etag') ?? undefined,
      body: (res.body as ReadableStream<Uint8Array> | null) ?? new Blob([]).stream(),
    };
  }

  /** A directory's entries; ApiError `not_a_directory` when `path` is a file. */
  async list(id: string, path: string): Promise<DirectoryListing> {
    const content = await this.read(id, path);
    if (content.type === 'dir') return content.listing;
    await content.body.cancel();
    throw new ApiError(400, 'not_a_directory', `${path} is a file, not a directory.`);
  }

  /** A file as text (the editor's read); ApiError `is_a_directory` for a directory. */
  async readText(id: string, path: string): Promise<TextFile> {
    const content = await this.read(id, path);
    if (content.type === 'dir')
      throw new ApiError(
        400,
        'is_a_directory',
        `${path || 'The workspace root'} is a directory, not a file.`,
      );
    return { text: await new Response(content.body).text(), etag: content.etag };
  }

  /** Writes a file (creating parent directories) from its raw bytes; resolves with its size. */
  async write(id: string, path: string, body: FileBody, opts: WriteOptions = {}): Promise<WrittenFile> {
    const res = await this.t.send('PUT', filesPath(id, path), {
      body,
      headers: {
        'content-type': 'application/octet-stream',
        ...(opts.ifMatch ? { 'if-match': opts.ifMatch } : {}),
      },
    });
    const etag = res.headers.get('etag') ?? undefined;
    return { ...(await this.t.expect(res, 'FileWritten')), etag };
  }

  /** Uploads files (multipart `file` parts) into directory `dir`. */
  upload(id: string, dir: string, files: File[]) {
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    return this.t
      .send('POST', filesPath(id, dir), { body: form })
      .then((res) => this.t.expect(res, 'FileUploads'));
  }

  /** Creates a directory (and its parents). */
  mkdir(id: string, path: string) {
    return this.t.callVoid('POST', filesPath(id, path), { op: 'mkdir' });
  }

  rename(id: string, from: string, to: string) {
    return this.t.callVoid('POST', filesPath(id, from), { op: 'rename', to });
  }

  /** Deletes a file, or a directory (`recursive` when it is not empty). */
  delete(id: string, path: string, opts: { recursive?: boolean } = {}) {
    return this.t.callVoid(
      'DELETE',
      filesPath(id, path, queryString({ recursive: opts.recursive || undefined })),
    );
  }

  /** A link that downloads a file, or a directory (and everything under it) as tar.gz. */
  downloadUrl(id: string, path: string): string {
    return this.t.url(filesPath(id, path, queryString({ download: true })));
  }

  /** A directory as a tar.gz stream; entries are named as in /workspace. */
  async archive(id: string, path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.t.send('GET', filesPath(id, path, queryString({ download: true })));
    if (!res.ok) await this.t.expectOk(res);
    return (res.body as ReadableStream<Uint8Array> | null) ?? new Blob([]).stream();
  }

  /** The WebSocket that reports changes under /workspace (server/http/routes/terminalRoutes.ts). */
  watchUrl(id: string): string {
    return this.t.socketUrl(`${workspacePath(id)}/watch?path=`);
  }
}
