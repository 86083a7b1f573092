// Plain constants of the wire contract, with no zod import, so the web UI can use them without
// bundling the schemas. The schemas in wire.ts, taskWire.ts and agentProtocol.ts build on them.

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** The most a prompt or follow-up may be, in UTF-8 bytes. */
export const MAX_PROMPT_BYTES = 100 * 1024;

/** Claude Code's permission modes, as its --permission-mode flag names them. */
export const permissionModes = ['default', 'acceptEdits', 'bypassPermissions', 'plan'] as const;
export type PermissionMode = (typeof permissionModes)[number];

/**
 * WebSocket close code (application range 4000–4999, RFC 6455 §7.4.2) for what the socket was
 * opened for not being there, such as a terminal that is not open, after the caller was
 * authorised. Unlike a refused upgrade, which a browser reports only as 1006, the code and the
 * reason reach the page.
 */
export const WS_NOT_FOUND = 4404;

/**
 * WebSocket close code for the credential the socket was opened with having stopped working (the
 * session signed out, the token revoked, the account disabled). The client signs in again rather
 * than reconnecting with what it has.
 */
export const WS_UNAUTHORIZED = 4401;

/**
 * WebSocket close code for the caller no longer being allowed what the socket shows (their role
 * changed). Reconnecting will be refused as well.
 */
export const WS_FORBIDDEN = 4403;

/**
 * WebSocket close code (RFC 6455 "Service Restart") for the server side of a workspace socket
 * going away while the workspace runs: its agent reconnects, maybe to another replica. The
 * client attaches again after a moment (a terminal by its id) and reaches it wherever it is.
 */
export const WS_RECONNECT = 1012;

/**
 * The close code a WebSocket client reports (RFC 6455 "Abnormal Closure"; never sent by a server)
 * when the connection broke without a close frame: the replica it was on died, or the network
 * between. Once a terminal was attached, the client attaches again as after WS_RECONNECT: the
 * terminal lives with the workspace's agent, not with the replica the socket was on.
 */
export const WS_CONNECTION_LOST = 1006;

/** How many times, a second apart, a client attaches again after WS_RECONNECT before it gives up. */
export const RECONNECT_ATTEMPTS = 10;

/**
 * The most a viewer of a task's event stream (WebSocket or SSE) may have written to it and not
 * yet taken, in bytes. A viewer that falls this far behind is cut off with its resume point
 * (WS_TOO_SLOW, or SSE `event: task_resume`) and reconnects from the store, so a stalled viewer
 * costs the server this much memory at most, never the whole stream.
 */
export const MAX_VIEWER_BACKLOG_BYTES = 1024 * 1024;

/**
 * WebSocket close code for a viewer of a task's events that fell more than
 * MAX_VIEWER_BACKLOG_BYTES behind. The reason ends `after=<seq>`, the last seq sent on the socket:
 * reconnecting with `?after=<seq>` gets the rest, each event once.
 */
export const WS_TOO_SLOW = 4408;

/** The SSE event that ends a task event stream for the same reason; its data is `{"after":<seq>}`. */
export const SSE_RESUME_EVENT = 'task_resume';

/** The resume point in a WS_TOO_SLOW close reason, or undefined when it has none. */
export function resumePoint(reason: string): number | undefined {
  const m = /after=(\d+)$/.exec(reason);
  return m ? Number(m[1]) : undefined;
}
