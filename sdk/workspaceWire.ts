// Wire types of the workspace API: /api/v1/workspaces, its files and terminals.
import { z } from 'zod';
import { RelPath, TerminalSize } from './agentProtocol.js';
import { Id } from './wire.js';

export const workspaceStatuses = ['pending', 'starting', 'running', 'stopping', 'stopped', 'failed'] as const;
export const WorkspaceStatus = z
  .enum(workspaceStatuses)
  .describe('pending → starting → running → stopping → stopped; failed says why in statusReason.');
export type WorkspaceStatus = z.infer<typeof WorkspaceStatus>;

/** An http(s) repository URL without credentials; compared after normalising (see server). */
export const RepositoryUrl = z
  .string()
  .max(2048)
  .refine(
    (s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
      } catch {
        return false;
      }
    },
    { error: 'must be an http(s) repository URL, e.g. https://github.com/acme/app' },
  )
  .refine((s) => !/^[a-z]+:\/\/[^/]*@/i.test(s), {
    error: 'must not contain credentials; the platform supplies them',
  });

export const WorkspaceResources = z.object({
  cpu: z.number().describe('CPU cores.'),
  memoryBytes: z.number().describe('Memory limit in bytes.'),
  pids: z.number().describe('Most processes at once.'),
});

export const WorkspaceUsage = z.object({
  cpuPercent: z.number(),
  memoryBytes: z.number(),
  diskBytes: z.number(),
  processes: z.number(),
});

export const Workspace = z.object({
  id: Id,
  ownerId: Id,
  repository: z.string(),
  name: z.string(),
  status: WorkspaceStatus,
  statusReason: z.string().nullable().describe('Why it failed, or what it is doing (clone progress).'),
  health: z.enum(['healthy', 'unhealthy']).nullable().describe('From agent heartbeats; null unless running.'),
  agentConnected: z.boolean(),
  driver: z.string(),
  resources: WorkspaceResources,
  usage: WorkspaceUsage.nullable().describe('From the last heartbeat.'),
  lastHeartbeatAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  stoppedAt: z.string().nullable(),
  idleStopAt: z
    .string()
    .nullable()
    .describe(
      'When the workspace will be stopped for inactivity (sessions.idleTimeout), once its owner has been warned; null otherwise. Opening a terminal or running a task clears it.',
    ),
});
export type Workspace = z.infer<typeof Workspace>;

export const CreateWorkspaceBody = z.strictObject({
  repository: RepositoryUrl,
  name: z.string().trim().min(1).max(100).optional().describe('Defaults to the repository name.'),
  start: z.boolean().default(true).describe('Start it at once (default true).'),
  resources: z
    .strictObject({
      cpu: z.number().positive().max(64).optional(),
      memoryMb: z.int().min(64).max(262_144).optional(),
      pids: z.int().min(16).max(65_536).optional(),
    })
    .optional()
    .describe('Limits; default and maximum come from the config.'),
});
export type CreateWorkspaceBody = z.input<typeof CreateWorkspaceBody>;

export const WorkspaceList = z.object({ items: z.array(Workspace) });

export const WorkspaceListQuery = z.strictObject({
  owner: z
    .union([z.literal('me'), z.literal('all'), Id])
    .default('me')
    .describe('"me" (default), "all" (admins) or a user id (admins).'),
  status: WorkspaceStatus.optional(),
  repository: z.string().max(2048).optional(),
});

export const DeleteWorkspaceQuery = z.strictObject({
  keepVolume: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('Keep the files (the box is removed; a new workspace for the same repository finds them).'),
});

// ---- files ----

export const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'other']),
  size: z.number(),
  modifiedAt: z.string(),
  mode: z.string().describe('Permission bits in octal, e.g. "644".'),
});
export const FileListing = z.object({ path: z.string(), entries: z.array(FileEntry) });

export const FilePathParams = z.strictObject({ id: Id, '*': RelPath.default('') });

export const FileGetQuery = z.strictObject({
  download: z
    .enum(['true', 'false'])
    .optional()
    .describe('A directory comes as tar.gz; a file as an attachment.'),
});

export const FileOperationBody = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('rename'),
    to: RelPath.refine((p) => p !== '', { error: 'must not be empty' }),
    overwrite: z.boolean().default(false),
  }),
  z.strictObject({ op: z.literal('mkdir') }),
]);

export const FileDeleteQuery = z.strictObject({
  recursive: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export const FileWritten = z.object({ path: z.string(), size: z.number() });

/** One entity tag, `"…"` or `W/"…"` (RFC 9110 §8.8.3). */
const ENTITY_TAG = String.raw`(?:W/)?"[\x21\x23-\x7e\x80-\xff]{0,190}"`;
const IF_MATCH = new RegExp(String.raw`^(?:\*|${ENTITY_TAG}(?:\s*,\s*${ENTITY_TAG}){0,31})$`);

/** Headers of a file write; other headers pass through untouched. */
export const FileWriteHeaders = z.looseObject({
  'if-match': z
    .string()
    .trim()
    .regex(IF_MATCH, { error: 'must be * or up to 32 comma-separated ETags such as W/"12-345-678"' })
    .optional()
    .describe(
      'Write only if the file still has this ETag (from its GET), else 412 precondition_failed; * = only if it exists.',
    ),
});

/** The tags of a valid If-Match header (FileWriteHeaders), or `*`. */
export function ifMatchTags(header: string): '*' | string[] {
  if (header.trim() === '*') return '*';
  return header.match(new RegExp(ENTITY_TAG, 'g')) ?? [];
}

// ---- terminals ----

/** Query of the terminals WebSocket: attach to `terminalId`, or open a new one of this size. */
export const TerminalQuery = z.strictObject({
  terminalId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  cols: z.coerce.number().pipe(TerminalSize.shape.cols).default(80),
  rows: z.coerce.number().pipe(TerminalSize.shape.rows).default(24),
});

/** Control messages on the terminal WebSocket (text frames). Bytes go in binary frames. */
export const TerminalClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('resize') }).extend(TerminalSize.shape),
  z.strictObject({ type: z.literal('close') }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

export type TerminalServerMessage =
  | {
      type: 'ready';
      terminalId: string;
      cols: number;
      rows: number;
      /**
       * The length of the binary frame that follows with the terminal's buffered output (the
       * screen replayed on attach); 0 when nothing was buffered and no such frame comes.
       */
      replayBytes?: number;
    }
  | { type: 'exit'; exitCode: number | null; signal: number | null }
  | { type: 'error'; code: string; message: string };

export const TerminalInfo = z.object({
  id: z.string(),
  cols: z.number(),
  rows: z.number(),
  viewers: z.number(),
  createdAt: z.string(),
});
export const TerminalList = z.object({ items: z.array(TerminalInfo) });
