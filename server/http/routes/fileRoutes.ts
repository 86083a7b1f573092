// /api/v1/workspaces/:id/files/* — the workspace's files, through its agent (which confines every
// path to /workspace and refuses symlinks that lead out). Bodies stream both ways; nothing is
// buffered whole in the control plane.

import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type FileEntry as AgentFileEntry, type IfMatch, RelPath } from '../../../sdk/agentProtocol.js';
import { ErrorEnvelope } from '../../../sdk/wire.js';
import {
  FileDeleteQuery,
  FileGetQuery,
  FileListing,
  FileOperationBody,
  FilePathParams,
  FileWriteHeaders,
  FileWritten,
  ifMatchTags,
} from '../../../sdk/workspaceWire.js';
import { parseSize } from '../../config/units.js';
import type { Services } from '../../services.js';
import type { AgentStream } from '../../workspaces/agentHub.js';
import type { App } from '../app.js';
import { HttpError, invalidInput } from '../errors.js';
import { ensureCaller, ensureCan } from '../guard.js';
import { noteAudit } from '../requestContext.js';
import { agentHttpError, ensureRunning } from './agentErrors.js';
import { visibleWorkspace } from './workspaceRoutes.js';

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
  412: ErrorEnvelope,
  413: ErrorEnvelope,
};
const URL_PATH = '/api/v1/workspaces/:id/files/*';
/** The workspace root: the router drops a trailing slash, so `/files/` lands here. */
const ROOT_PATH = '/api/v1/workspaces/:id/files';
const tags = ['files'];

function wireEntry(dir: string, e: AgentFileEntry) {
  return {
    name: e.name,
    path: dir ? `${dir}/${e.name}` : e.name,
    type: e.type,
    size: e.size,
    modifiedAt: new Date(e.mtimeMs).toISOString(),
    mode: (e.mode & 0o7777).toString(8),
  };
}

const trimSlash = (p: string) => p.replace(/\/+$/, '');

export function fileRoutes(app: App, s: Services): void {
  const limit = parseSize(s.config.workspaces.fileSizeLimit);
  const tooLarge = () =>
    new HttpError(
      413,
      'too_large',
      `Files are limited to ${s.config.workspaces.fileSizeLimit} (workspaces.fileSizeLimit).`,
    );

  const target = async (
    req: { params: { id: string; '*': string } },
    raw: Parameters<typeof ensureCaller>[1],
    write: boolean,
  ) => {
    const me = await ensureCaller(s, raw);
    const row = await visibleWorkspace(s, me, req.params.id);
    if (write) ensureCan(me, 'workspace.files.write', { kind: 'workspace', ownerId: row.owner_id });
    ensureRunning(row);
    // Calls and byte channels reach the agent on whichever replica holds it (agentRelay.ts).
    const agent = <T>(method: string, params: unknown) => s.runtime.hub.request<T>(row.id, method, params);
    const stream = () =>
      s.runtime.hub.openStream(row.id).catch((err) => {
        throw agentHttpError(err);
      });
    return { row, agent, stream, path: trimSlash(req.params['*']) };
  };

  for (const url of [URL_PATH, ROOT_PATH])
    app.get(
      url,
      {
        schema: {
          tags,
          summary: 'A directory as a listing (or tar.gz with download=true), a file as its bytes.',
          params: FilePathParams,
          querystring: FileGetQuery,
          response: { 200: FileListing.or(z.any()), ...errors },
        },
      },
      async (req, reply) => {
        const { agent, stream, path } = await target(req, req, false);
        try {
          const stat = await agent<AgentFileEntry>('files.stat', { path });
          const download = req.query.download === 'true';
          if (stat.type === 'dir' && !download) {
            const { entries } = await agent<{ entries: AgentFileEntry[] }>('files.list', { path });
            return reply.send({ path, entries: entries.map((e) => wireEntry(path, e)) });
          }
          const name = (path.split('/').pop() || 'workspace').replace(/[^A-Za-z0-9._-]/g, '_');
          if (stat.type !== 'dir' && stat.size > limit) throw tooLarge();
          const { channel, channelId, request } = await stream();
          if (stat.type === 'dir') {
            await request('files.archive', { path, channel: channelId }).catch((err) => {
              channel.destroy();
              throw err;
            });
            reply.header('content-type', 'application/gzip');
            reply.header('content-disposition', `attachment; filename="${name}.tar.gz"`);
            return reply.send(channel);
          }
          const { size, etag } = await request<{ size: number; etag?: string }>('files.read', {
            path,
            channel: channelId,
            maxBytes: limit,
          }).catch((err) => {
            channel.destroy();
            throw err;
          });
          reply.header('content-type', 'application/octet-stream');
          reply.header('content-length', size);
          if (etag) reply.header('etag', etag);
          if (download) reply.header('content-disposition', `attachment; filename="${name}"`);
          return reply.send(channel);
        } catch (err) {
          throw agentHttpError(err);
        }
      },
    );

  // Raw bodies of any content type stream straight to the agent.
  app.register(async (plain) => {
    const inner = plain.withTypeProvider<ZodTypeProvider>();
    // Every content type, JSON and text included, is the file's bytes here.
    inner.removeAllContentTypeParsers();
    inner.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    inner.put(
      URL_PATH,
      {
        schema: {
          tags,
          summary:
            'Write a file from the raw request body (parent directories are created); with If-Match, only if unchanged.',
          params: FilePathParams,
          headers: FileWriteHeaders,
          response: { 200: FileWritten, ...errors },
        },
        bodyLimit: limit,
      },
      async (req, reply) => {
        noteAudit(req, {
          action: 'workspace.file_written',
          targetType: 'workspace',
          targetId: req.params.id,
          detail: { path: req.params['*'] },
        });
        // Before anything else, so a body that can never fit is refused at once (and the
        // connection closed, see closeUnreadBody.ts) instead of after a round trip to the store.
        if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
        const { stream, path } = await target(req, req, true);
        if (path === '') throw new HttpError(400, 'is_a_directory', 'Give a file path after /files/.');
        const header = req.headers['if-match'];
        const ifMatch = header === undefined ? undefined : ifMatchTags(header);
        const { size, etag } = await writeStream(stream, path, req.body as Readable, limit, ifMatch);
        if (etag) reply.header('etag', etag);
        return { path, size };
      },
    );
  });

  for (const url of [URL_PATH, ROOT_PATH])
    app.post(
      url,
      {
        schema: {
          tags,
          summary:
            'Upload files into a directory (multipart/form-data), or {op: "rename", to} / {op: "mkdir"}.',
          params: FilePathParams,
          response: { 200: z.object({ items: z.array(FileWritten) }), 204: z.null(), ...errors },
        },
      },
      async (req, reply) => {
        noteAudit(req, {
          action: 'workspace.file_written',
          targetType: 'workspace',
          targetId: req.params.id,
          detail: { path: req.params['*'] },
        });
        const op = req.isMultipart() ? undefined : FileOperationBody.safeParse(req.body ?? {});
        if (op && !op.success) throw invalidInput('body', op.error.issues as never);
        if (!op && !/;\s*boundary=/i.test(req.headers['content-type'] ?? '')) {
          throw malformedUpload('its Content-Type names no boundary');
        }
        const { agent, stream, path } = await target(req, req, true);
        try {
          if (!op) {
            const items: { path: string; size: number }[] = [];
            for await (const part of uploadParts(req)) {
              const name = part.filename;
              if (!name || name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
                part.file.resume();
                throw new HttpError(
                  400,
                  'invalid_path',
                  `The upload name "${name}" must be a plain file name.`,
                );
              }
              const dest = path ? `${path}/${name}` : name;
              const { size } = await writeStream(stream, dest, part.file, limit);
              if (part.file.truncated) throw tooLarge();
              items.push({ path: dest, size });
            }
            // Parts without a file name are skipped by the parser; a form of nothing else is garbage.
            if (items.length === 0) throw malformedUpload('it holds no file (a part with a filename)');
            return reply.send({ items });
          }
          const body = op.data;
          if (body.op === 'mkdir') await agent('files.mkdir', { path });
          else await agent('files.rename', { from: path, to: body.to, overwrite: body.overwrite });
          return reply.code(204).send(null);
        } catch (err) {
          throw agentHttpError(err);
        }
      },
    );

  app.delete(
    URL_PATH,
    {
      schema: {
        tags,
        summary: 'Delete a file, or a directory (recursive=true when it is not empty).',
        params: FilePathParams,
        querystring: FileDeleteQuery,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      noteAudit(req, {
        action: 'workspace.file_deleted',
        targetType: 'workspace',
        targetId: req.params.id,
        detail: { path: req.params['*'] },
      });
      const { agent, path } = await target(req, req, true);
      if (path === '') throw new HttpError(400, 'invalid_path', 'The workspace root cannot be deleted.');
      await agent('files.delete', { path, recursive: req.query.recursive }).catch((e) => {
        throw agentHttpError(e);
      });
      return reply.code(204).send(null);
    },
  );
}

/**
 * Streams `body` into a new file at `path` through the agent; resolves with its size and ETag
 * (none from an older agent). With `ifMatch`, the agent writes only if the file matches.
 */
async function writeStream(
  open: () => Promise<AgentStream>,
  path: string,
  body: Readable,
  limit: number,
  ifMatch?: IfMatch,
): Promise<{ size: number; etag?: string }> {
  RelPath.parse(path);
  const { channel, channelId, request } = await open();
  const written = request<{ size: number; etag?: string }>(
    'files.write',
    { path, channel: channelId, maxBytes: limit, ...(ifMatch ? { ifMatch } : {}) },
    { timeoutMs: 0 },
  );
  const sent = pipeline(body, channel).catch((err: Error) => err);
  try {
    return await written;
  } catch (err) {
    // Drain rather than destroy the body: destroying a request stream closes its socket, and the
    // client would never see the error.
    body.unpipe(channel);
    body.resume();
    channel.destroy();
    await sent;
    // A body that broke off (a multipart part cut short) is why the agent's write failed.
    if (body.errored) throw malformedUpload(body.errored.message);
    throw agentHttpError(err);
  }
}

const malformedUpload = (why: string) =>
  new HttpError(
    400,
    'malformed_upload',
    `The upload is not valid multipart/form-data: ${why.replace(/\.$/, '')}.`,
  );

/**
 * The uploaded files of a multipart request. The parser's own failures (a malformed part header,
 * a body that ends mid-part) are the client's mistake, so they become 400 here rather than
 * reaching the error handler as unknown errors (500); the plugin's limits keep their 413.
 */
async function* uploadParts(req: FastifyRequest): AsyncGenerator<MultipartFile> {
  const parts = req.files();
  for (;;) {
    let step: IteratorResult<MultipartFile>;
    try {
      step = await parts.next();
    } catch (err) {
      if (err instanceof HttpError || (err as { statusCode?: number }).statusCode) throw err;
      throw malformedUpload((err as Error).message);
    }
    if (step.done) return;
    yield step.value;
  }
}
