// The agent channel protocol (DESIGN §4), shared by the control plane and the agent.
//
// One WebSocket per workspace. The agent dials it: `ws+unix://<socket>:/agent?v=<version>` for
// local and Docker workspaces, `wss://<server>/api/v1/agent?v=<version>` for remote drivers, with
// `Authorization: Bearer <agent token>` and `x-rc-workspace: <workspace id>` headers. The server
// refuses an unknown version with 426 and a wrong token with 401, before the upgrade.
//
// Text frames carry JSON-RPC 2.0 (requests both ways, notifications, responses). Binary frames
// carry channel bytes: a 4-byte big-endian channel id, then the payload. Channels carry PTY
// input/output, file contents, archives and egress tunnels. The server allocates even channel ids
// and the agent odd ones, so the two never collide. Either side ends a channel with the
// `channel.close` notification (after its last bytes); an `error` in it means the stream failed.
import { z } from 'zod';
import { permissionModes } from './limits.js';

export const AGENT_PROTOCOL_VERSION = 1;
/** Versions this build of the server accepts from agents. Keep old ones working. */
export const SUPPORTED_AGENT_PROTOCOL_VERSIONS: readonly number[] = [1];
/** Largest frame either side accepts; a bigger one closes the connection (code 1009). */
export const MAX_AGENT_FRAME_BYTES = 1024 * 1024;
/** Channel payload chunk size: big enough for throughput, small enough to interleave keystrokes. */
export const CHANNEL_CHUNK_BYTES = 64 * 1024;
/** Where the agent's socket directory is bound inside a local or Docker workspace. */
export const AGENT_SOCKET_DIR_IN_WORKSPACE = '/run/remote-claude';
export const AGENT_SOCKET_NAME = 'agent.sock';
/** What the agent dials when RC_AGENT_URL is not set: the bound unix socket (local, Docker). */
export const AGENT_UNIX_URL_IN_WORKSPACE = `ws+unix://${AGENT_SOCKET_DIR_IN_WORKSPACE}/${AGENT_SOCKET_NAME}:/agent`;
/** Port of the agent's loopback forwarder inside the workspace (HTTP_PROXY / HTTPS_PROXY). */
export const AGENT_FORWARDER_PORT = 3128;
/** Port of the agent's model forwarder inside the workspace (ANTHROPIC_BASE_URL). */
export const AGENT_MODEL_PORT = 3129;
/** The API key Claude Code sees inside a workspace: a placeholder; the gateway injects the real one. */
export const WORKSPACE_API_KEY_PLACEHOLDER = 'sk-ant-rc-placeholder-not-a-real-key';
export const WORKSPACE_DIR = '/workspace';
/** Output a terminal keeps so a reattaching viewer redraws the screen: the last 1 MiB. */
export const TERMINAL_BUFFER_BYTES = 1024 * 1024;

/** Environment the driver passes to the agent process. */
export const AgentEnv = z.object({
  /** `ws://…/api/v1/agent` or `wss://…` for network drivers; unset, the bound unix socket. */
  RC_AGENT_URL: z.string().min(1).default(AGENT_UNIX_URL_IN_WORKSPACE),
  RC_AGENT_TOKEN: z.string().min(20),
  RC_WORKSPACE_ID: z.string().min(1),
  RC_WORKSPACE_DIR: z.string().default(WORKSPACE_DIR),
  /** Heartbeat period in ms (default 10 s); tests shorten it. */
  RC_AGENT_HEARTBEAT_MS: z.coerce.number().int().min(50).default(10_000),
});
export type AgentEnv = z.infer<typeof AgentEnv>;

// ---- JSON-RPC 2.0 envelopes ----

const RpcId = z.union([z.number().int(), z.string().max(64)]);
export const RpcMessage = z.union([
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    id: RpcId,
    method: z.string().min(1).max(64),
    params: z.unknown().optional(),
  }),
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    method: z.string().min(1).max(64),
    params: z.unknown().optional(),
  }),
  z.strictObject({ jsonrpc: z.literal('2.0'), id: RpcId, result: z.unknown() }),
  z.strictObject({
    jsonrpc: z.literal('2.0'),
    id: RpcId.nullable(),
    error: z.strictObject({ code: z.number().int(), message: z.string(), data: z.unknown().optional() }),
  }),
]);
export type RpcMessage = z.infer<typeof RpcMessage>;

export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;
export const RPC_INTERNAL_ERROR = -32603;
/** Application errors: `data.reason` says which. */
export const RPC_APP_ERROR = -32000;

/** Why an agent operation failed; the server maps each to an HTTP status. */
export const AgentErrorReason = z.enum([
  'not_found',
  'outside_workspace',
  'invalid_path',
  'not_a_directory',
  'is_a_directory',
  'exists',
  'too_large',
  'busy',
  'precondition_failed',
  'git_failed',
  'spawn_failed',
  'timeout',
  'internal',
]);
export type AgentErrorReason = z.infer<typeof AgentErrorReason>;

// ---- Methods. Each has a params schema and a result schema; both sides validate. ----

/** A path relative to /workspace: no leading "/", no ".." segment, no NUL. "" is the root. */
export const RelPath = z
  .string()
  .max(4096)
  .refine((p) => !p.includes('\0'), { error: 'must not contain NUL bytes' })
  .refine((p) => !p.startsWith('/'), { error: 'must be relative to /workspace' })
  .refine((p) => !p.split('/').includes('..'), { error: 'must not contain ".." segments' });

const ChannelId = z.int().min(1).max(0xffffffff);
const TerminalId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const TerminalSize = z.strictObject({
  cols: z.int().min(2).max(1000),
  rows: z.int().min(1).max(500),
});

export const FileEntry = z.object({
  name: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'other']),
  size: z.number(),
  mtimeMs: z.number(),
  mode: z.number(),
});
export type FileEntry = z.infer<typeof FileEntry>;

const Empty = z.object({});

/** A file's ETag as the agent computes it (agent/fileEtag.ts); optional in results of older agents. */
const FileEtag = z.string().max(200);
/** An If-Match precondition: any existing file (`*`), or one of these ETags (weak comparison). */
export const IfMatch = z.union([z.literal('*'), z.array(FileEtag).min(1).max(32)]);
export type IfMatch = z.infer<typeof IfMatch>;

/** Requests the server sends to the agent. */
export const serverToAgent = {
  'files.list': { params: z.object({ path: RelPath }), result: z.object({ entries: z.array(FileEntry) }) },
  'files.stat': { params: z.object({ path: RelPath }), result: FileEntry },
  /** Answers with the size and ETag, then sends the bytes on `channel` and closes it. */
  'files.read': {
    params: z.object({ path: RelPath, channel: ChannelId, maxBytes: z.number().int().positive() }),
    result: z.object({ size: z.number(), etag: FileEtag.optional() }),
  },
  /**
   * Reads bytes from `channel` until it closes, writes them atomically, then answers. With
   * `ifMatch`, refuses with `precondition_failed` (and writes nothing) unless the file exists and,
   * for a list, its ETag is one of them.
   */
  'files.write': {
    params: z.object({
      path: RelPath,
      channel: ChannelId,
      maxBytes: z.number().int().positive(),
      createParents: z.boolean().default(true),
      ifMatch: IfMatch.optional(),
    }),
    result: z.object({ size: z.number(), etag: FileEtag.optional() }),
  },
  'files.delete': {
    params: z.object({ path: RelPath, recursive: z.boolean().default(false) }),
    result: Empty,
  },
  'files.rename': {
    params: z.object({ from: RelPath, to: RelPath, overwrite: z.boolean().default(false) }),
    result: Empty,
  },
  'files.mkdir': { params: z.object({ path: RelPath }), result: Empty },
  /** Answers at once, then streams `path` as a tar.gz on `channel` and closes it. */
  'files.archive': { params: z.object({ path: RelPath, channel: ChannelId }), result: Empty },
  /** Starts reporting changes under `path` as `files.changed` notifications. */
  'files.watch': { params: z.object({ watchId: z.string().min(1).max(64), path: RelPath }), result: Empty },
  'files.unwatch': { params: z.object({ watchId: z.string().min(1).max(64) }), result: Empty },
  /** Opens a PTY; its output goes to `channel`, and bytes written to `channel` are its input. */
  'pty.open': {
    params: z
      .object({ terminalId: TerminalId, channel: ChannelId, command: z.array(z.string()).min(1).optional() })
      .extend(TerminalSize.shape),
    result: z.object({ pid: z.number() }),
  },
  /** Binds an existing PTY to a new channel (after a control-plane restart); replays its buffer first. */
  'pty.attach': { params: z.object({ terminalId: TerminalId, channel: ChannelId }), result: Empty },
  'pty.resize': { params: z.object({ terminalId: TerminalId }).extend(TerminalSize.shape), result: Empty },
  'pty.close': { params: z.object({ terminalId: TerminalId }), result: Empty },
  'pty.list': {
    params: Empty,
    result: z.object({
      terminals: z.array(
        z.object({ terminalId: z.string(), cols: z.number(), rows: z.number(), pid: z.number() }),
      ),
    }),
  },
  /** Runs a command to completion (no shell unless argv asks for one). Output is capped at 1 MiB each. */
  exec: {
    params: z.object({
      argv: z.array(z.string()).min(1),
      cwd: RelPath.optional(),
      stdin: z.string().optional(),
      timeoutMs: z.number().int().positive().max(3_600_000).default(60_000),
    }),
    result: z.object({
      exitCode: z.number().nullable(),
      signal: z.string().nullable(),
      stdout: z.string(),
      stderr: z.string(),
      timedOut: z.boolean(),
    }),
  },
  /** Clones `url` into /workspace unless it already holds a checkout; progress as `repo.progress`. */
  'repo.clone': {
    params: z.object({ url: z.string().min(1), branch: z.string().min(1).optional() }),
    result: z.object({ cloned: z.boolean() }),
  },
} as const;

/** Requests the agent sends to the server. */
export const agentToServer = {
  /**
   * Opens a tunnel: the bytes a forwarder accepted flow on `channel` to the egress proxy
   * (`egress`, port 3128) or the model gateway (`model`, port 3129).
   */
  'tunnel.open': {
    params: z.object({ channel: ChannelId, target: z.enum(['egress', 'model']) }),
    result: Empty,
  },
} as const;

// ---- Tasks: one long-lived Claude Code process per active task (DESIGN §4). ----

export const TaskId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const PermissionMode = z.enum(permissionModes);

/**
 * Task requests (server → agent). The agent runs
 * `claude -p --input-format stream-json --output-format stream-json --verbose
 *  --permission-prompt-tool stdio [--model] [--permission-mode] [--max-turns] [--resume]`
 * in /workspace, numbers every stdout line from 1 (continuing after `firstSeq - 1` on a resume),
 * appends it to a queue on disk in the workspace home, and sends it as a `task.event`
 * notification. The queue keeps every event until the server acknowledges it (`task.ack`), and
 * the agent resends the unacknowledged ones after every reconnect, so a control-plane restart
 * loses nothing. When the process exits the agent adds one last event of its own,
 * `{"type":"rc_exit","exitCode":…,"signal":…}`.
 */
export const taskMethods = {
  'task.start': {
    params: z.object({
      taskId: TaskId,
      /** The first user turn; omitted when resuming with no new message. */
      prompt: z.string().max(200_000).optional(),
      model: z.string().min(1).max(100).optional(),
      permissionMode: PermissionMode.default('default'),
      maxTurns: z.int().min(1).max(1000).optional(),
      /** Continue this Claude Code session (after a workspace or agent restart). */
      resumeSessionId: z.string().min(1).max(100).optional(),
      /** Seq of the first line this process writes (1 for a new task). */
      firstSeq: z.int().min(1).default(1),
    }),
    result: z.object({ pid: z.number() }),
  },
  /** A follow-up user turn, written to the running process's stdin. */
  'task.send': { params: z.object({ taskId: TaskId, text: z.string().min(1).max(200_000) }), result: Empty },
  /** Sends Claude Code an interrupt control request; the turn ends, the process stays. */
  'task.interrupt': { params: z.object({ taskId: TaskId }), result: Empty },
  /** Ends the process (stdin closed, then SIGTERM, then SIGKILL). */
  'task.stop': { params: z.object({ taskId: TaskId }), result: Empty },
  /** Answers a `can_use_tool` control request with a control response. */
  'task.answer': {
    params: z.object({
      taskId: TaskId,
      requestId: z.string().min(1).max(200),
      behavior: z.enum(['allow', 'deny']),
      message: z.string().max(10_000).optional(),
      updatedInput: z.record(z.string(), z.unknown()).optional(),
    }),
    result: Empty,
  },
  /** Tasks the agent knows: running processes and queues with unacknowledged events. */
  'task.list': {
    params: Empty,
    result: z.object({
      tasks: z.array(z.object({ taskId: z.string(), running: z.boolean(), lastSeq: z.number().int() })),
    }),
  },
} as const;

export const taskNotifications = {
  /** Agent → server: one stdout line of Claude Code (raw text: it may not even be JSON). */
  'task.event': z.object({ taskId: TaskId, seq: z.int().min(1), line: z.string().max(900_000) }),
  /** Server → agent: every event of the task up to `seq` is stored; drop them from the queue. */
  'task.ack': z.object({ taskId: TaskId, seq: z.int().min(0) }),
} as const;

/** Notifications (no answer). */
export const notifications = {
  'channel.close': z.object({ channel: ChannelId, error: z.string().max(4096).optional() }),
  'agent.heartbeat': z.object({
    cpuPercent: z.number().min(0),
    memoryBytes: z.number().min(0),
    diskBytes: z.number().min(0),
    processes: z.number().int().min(0),
    uptimeSeconds: z.number().min(0),
  }),
  'files.changed': z.object({
    watchId: z.string(),
    changes: z.array(z.object({ path: z.string(), kind: z.enum(['change', 'rename']) })).max(1000),
  }),
  'pty.exit': z.object({
    terminalId: z.string(),
    exitCode: z.number().nullable(),
    signal: z.number().nullable(),
  }),
  'repo.progress': z.object({ line: z.string().max(4096) }),
} as const;

export type ServerToAgentMethod = keyof typeof serverToAgent;
export type AgentToServerMethod = keyof typeof agentToServer;
export type NotificationName = keyof typeof notifications;
export type ParamsOf<M extends ServerToAgentMethod> = z.input<(typeof serverToAgent)[M]['params']>;
export type ResultOf<M extends ServerToAgentMethod> = z.output<(typeof serverToAgent)[M]['result']>;
export type NotificationOf<N extends NotificationName> = z.output<(typeof notifications)[N]>;

/** Frames a channel payload: 4-byte big-endian channel id, then the bytes. */
export function encodeChannelFrame(channel: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(4 + payload.byteLength);
  frame.writeUInt32BE(channel, 0);
  frame.set(payload, 4);
  return frame;
}

/** Splits a binary frame; undefined when it is too short to carry a channel id. */
export function decodeChannelFrame(frame: Buffer): { channel: number; payload: Buffer } | undefined {
  if (frame.length < 4) return undefined;
  return { channel: frame.readUInt32BE(0), payload: frame.subarray(4) };
}
