// The runtime driver contract (DESIGN §6): how a workspace box is created, started, stopped and
// found again. Modelled on JupyterHub's Spawner: small, async, idempotent and restart-safe. A
// driver only has to start a box with the agent in it; terminals, files and tasks then work over
// the agent channel the same way on every driver.
//
// A driver gets its own typed config in its constructor and never reads process.env.

export type DriverKind = 'local' | 'docker' | 'kubernetes' | 'ecs';

/**
 * How a driver's boxes reach the agent channel (DESIGN §4): `unix` — a socket directory on the
 * control plane's host bound into the box (`WorkspaceSpec.agentSocketDir`); `network` — the agent
 * dials the control plane's `/api/v1/agent` endpoint at `RC_AGENT_URL`.
 */
export type AgentTransport = 'unix' | 'network';

/** What the control plane asks for. Everything a driver needs to (re)build the box. */
export interface WorkspaceSpec {
  /** Stable id; `create` is idempotent on it. */
  workspaceId: string;
  /** Limits the box must enforce. */
  resources: {
    /** CPU cores (fractions allowed). */
    cpu: number;
    memoryBytes: number;
    /** Most processes (threads count) alive at once. */
    pids: number;
  };
  /** Environment for the agent (RC_AGENT_URL, RC_AGENT_TOKEN, …). Secret: never log it. */
  env: Record<string, string>;
  /**
   * Host directory holding the agent socket; bound at AGENT_SOCKET_DIR_IN_WORKSPACE. Set for
   * drivers whose `agentTransport` is `unix`, absent for `network` ones.
   */
  agentSocketDir?: string;
  /** Run this instead of the agent (driver contract tests). */
  command?: string[];
  /**
   * The node an earlier `create` placed the workspace on (its stored ref's `node`), for drivers
   * with several: the box is looked for there only. Unset for a workspace never placed.
   */
  node?: string;
}

/** The spec a `unix` driver gets once ensureValidSpec has checked it. */
export type UnixWorkspaceSpec = WorkspaceSpec & { agentSocketDir: string };

/** A handle on a box, stored with the workspace so a restarted server can reach it again. */
export interface RuntimeRef {
  kind: DriverKind;
  workspaceId: string;
  /** The node the box lives on, when the driver has several. */
  node?: string;
  /** Driver-private data (container id, pid, …). JSON-serialisable. */
  data: Record<string, unknown>;
  /**
   * Set by a `create` that just placed the box: where and why, in a sentence ("Placed on node b:
   * 1.5 of 4 CPU, … reserved after this one."). Not stored with the workspace.
   */
  placement?: string;
}

export interface RuntimeUsage {
  cpuSeconds?: number;
  memoryBytes?: number;
  pids?: number;
}

export interface RuntimeState {
  status: 'running' | 'stopped' | 'missing';
  /** Exit code of the box's main process, when it has stopped and the driver knows it. */
  exitCode?: number;
  /** Why it stopped, in a sentence a user understands (e.g. "killed: out of memory"). */
  reason?: string;
  usage?: RuntimeUsage;
}

export type DriverErrorReason =
  | 'invalid_spec'
  | 'unavailable'
  | 'insufficient_resources'
  | 'start_failed'
  | 'not_found'
  | 'internal';

/** The one error type drivers throw. `userMessage` is shown on the workspace as its failure. */
export class DriverError extends Error {
  readonly reason: DriverErrorReason;
  readonly userMessage: string;
  constructor(opts: { reason: DriverErrorReason; userMessage: string; cause?: unknown }) {
    super(opts.userMessage, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DriverError';
    this.reason = opts.reason;
    this.userMessage = opts.userMessage;
  }
}

export interface RuntimeDriver {
  readonly kind: DriverKind;
  /** How this driver's boxes reach the agent channel; the server builds the spec to match. */
  readonly agentTransport: AgentTransport;

  /**
   * Checks, once at startup and before the server listens, that this driver can run boxes here
   * at all (tools installed, files a box needs usable by it, directories creatable), so a
   * misconfigured host stops with one sentence instead of failing every workspace later.
   * Idempotent; may create the driver's own directories. Drivers with nothing to check omit it.
   * @throws DriverError `unavailable` whose `userMessage` names the path or tool and the fix.
   */
  preflight?(): Promise<void>;

  /**
   * Creates the workspace's volumes and box without starting it. Idempotent by
   * `spec.workspaceId`: a second call returns a ref to the same box, updated to the new spec.
   * Called when a workspace is first started and whenever its spec changes.
   * @throws DriverError `invalid_spec`, `unavailable`, `insufficient_resources`.
   */
  create(spec: WorkspaceSpec): Promise<RuntimeRef>;

  /**
   * Starts the box; resolves once its main process runs (not when the agent connects — the
   * server waits for that itself). Idempotent: starting a running box does nothing. The box must
   * outlive the server process.
   * @throws DriverError `start_failed` (with the reason in `userMessage`), `not_found`.
   */
  start(ref: RuntimeRef): Promise<RuntimeRef>;

  /**
   * Stops the box: SIGTERM, then SIGKILL after `graceSeconds` (default 10). Keeps volumes.
   * Idempotent: stopping a stopped or missing box resolves.
   */
  stop(ref: RuntimeRef, opts?: { graceSeconds?: number }): Promise<void>;

  /**
   * Removes the box and, unless `keepVolume`, its volumes. Stops it first if it runs.
   * Idempotent: removing a missing box resolves.
   */
  remove(ref: RuntimeRef, opts?: { keepVolume?: boolean }): Promise<void>;

  /** Reports the box's state. Never throws for a missing box: that is `{ status: 'missing' }`. */
  inspect(ref: RuntimeRef): Promise<RuntimeState>;

  /**
   * Every box this installation owns, running or not. The reconcile loop compares it with the
   * store: it re-adopts boxes that belong to known workspaces and removes the rest.
   */
  list(): Promise<RuntimeRef[]>;

  /** Releases the driver's own resources (sockets, timers). Boxes keep running. */
  close?(): Promise<void>;
}

export type DriverFactory<C = unknown> = (config: C) => RuntimeDriver;
