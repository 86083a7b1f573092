// Workspace lifecycle: pending → starting → running → stopping → stopped, or failed with a reason.
// The HTTP layer calls create/start/stop/remove; the long part of a start (box up, agent connected,
// first clone) runs in the background and is visible through the status and statusReason.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { AGENT_UNIX_URL_IN_WORKSPACE, notifications } from '../../sdk/agentProtocol.js';
import { RpcError } from '../../sdk/rpcPeer.js';
import type { CreateWorkspaceBody, WorkspaceStatus } from '../../sdk/workspaceWire.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/configSchema.js';
import { parseCpu, parseSize } from '../config/units.js';
import {
  DriverError,
  type RuntimeDriver,
  type RuntimeRef,
  type WorkspaceSpec,
} from '../drivers/runtimeDriver.js';
import type { WorkspaceRow, WorkspaceStore } from '../store/workspaceStore.js';
import { type AgentConnection, type AgentHub, hashAgentToken } from './agentHub.js';

export class WorkspaceError extends Error {
  constructor(
    readonly code: 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** Strips what does not change which repository a URL names (case of the host, trailing slash, fragment). */
export function normaliseRepository(url: string): string {
  const u = new URL(url);
  u.hash = '';
  u.search = '';
  u.hostname = u.hostname.toLowerCase();
  // ".git" stays: it is the clone URL too, and some servers (dumb HTTP) need it exactly.
  u.pathname = u.pathname.replace(/\/+$/, '');
  return u.toString().replace(/\/$/, '');
}

/**
 * The id of a user's workspace for a repository is derived from the pair, so deleting a workspace
 * with keepVolume and creating it again finds the same files.
 */
export function workspaceIdFor(ownerId: string, repository: string): string {
  const h = createHash('sha256').update(`${ownerId}\n${repository}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface WorkspaceServiceOptions {
  config: Config;
  store: WorkspaceStore;
  driver: RuntimeDriver;
  hub: AgentHub;
  log: Logger;
  /** Paces the clone-progress writes. */
  clock: Clock;
  /** What agents of `network` drivers dial (RC_AGENT_URL); read at each start. */
  agentUrl: () => string;
  /**
   * Takes a lock by name across replicas until the returned release is called, or undefined when
   * another replica holds it (LeaderLocks.tryHold); without it (one process) always free.
   */
  hold?: (name: string) => Promise<(() => Promise<void>) | undefined>;
}

/** How long a start waits for another replica's start of the same workspace to show (holdStart). */
const START_WAIT_MS = 5000;

/** Statuses a workspace passes through on its way to running, stopped or failed. */
const UNSETTLED: readonly string[] = ['starting', 'stopping', 'pending'];

export class WorkspaceService {
  /**
   * `ready`: the workspace runs with its agent connected; `failed`: it could not start;
   * `no_room`: a start found no node with room (it is stopped again); `stopped`: a stop finished.
   */
  readonly events = new EventEmitter<{
    ready: [string];
    failed: [string];
    no_room: [string];
    stopped: [string];
  }>();
  private readonly starts = new Map<string, AbortController>();
  /**
   * Stops in flight in this process, counted (two stops of one workspace may overlap). Another
   * replica's reconcile pass cannot see these: it asks `stopIsFree`, the stop's lock across
   * replicas, before it finishes a stop it finds in `stopping` as one cut short.
   */
  private readonly stopping = new Map<string, number>();
  /** When clone progress was last written to the store, per workspace: at most once a second. */
  private readonly progressWritten = new Map<string, number>();

  constructor(private readonly o: WorkspaceServiceOptions) {
    o.hub.on('heartbeat', (id, usage) => void this.onHeartbeat(id, usage));
    o.hub.on('unhealthy', (id) => {
      o.store
        .setHealth(id, 'unhealthy')
        .catch((err) => o.log.warn({ err, workspaceId: id }, 'could not record a workspace as unhealthy'));
    });
    o.hub.on('notification', (id, method, params) => {
      if (method === 'repo.progress') void this.onCloneProgress(id, params);
    });
  }

  async create(ownerId: string, body: CreateWorkspaceBody): Promise<{ row: WorkspaceRow; created: boolean }> {
    const { config } = this.o;
    const repository = normaliseRepository(body.repository);
    const limits = config.isolation.resourceLimits;
    const max = config.quotas.maxResourcesPerTask;
    const cpu = body.resources?.cpu ?? parseCpu(limits.cpu ?? '1');
    const memoryBytes =
      body.resources?.memoryMb !== undefined
        ? body.resources.memoryMb * 1024 * 1024
        : parseSize(limits.memory ?? '2G');
    if (max.cpu !== undefined && cpu > Math.max(parseCpu(max.cpu), parseCpu(limits.cpu ?? '0'))) {
      throw new WorkspaceError(
        'invalid',
        `resources.cpu may be at most ${max.cpu} (quotas.maxResourcesPerTask)`,
      );
    }
    if (
      max.memory !== undefined &&
      memoryBytes > Math.max(parseSize(max.memory), parseSize(limits.memory ?? '0'))
    ) {
      throw new WorkspaceError(
        'invalid',
        `resources.memoryMb may be at most ${max.memory} (quotas.maxResourcesPerTask)`,
      );
    }
    const name = body.name ?? (repository.split('/').pop() ?? repository).replace(/\.git$/, '');
    const res = await this.o.store.createOrGet({
      id: workspaceIdFor(ownerId, repository),
      ownerId,
      repository,
      name,
      driver: this.o.driver.kind,
      cpu,
      memoryBytes,
      pids: body.resources?.pids ?? config.workspaces.pids,
    });
    if (res.created && body.start !== false) await this.start(res.row.id);
    return { row: (await this.o.store.byId(res.row.id)) ?? res.row, created: res.created };
  }

  /** Moves the workspace to starting and brings it up in the background. Idempotent while starting/running. */
  async start(id: string): Promise<void> {
    // One start of a workspace at a time across replicas, held from before the row says
    // `starting` until the start has finished or failed: the leader's reconcile pass, which
    // cannot see a start in flight on another replica, leaves the workspace alone meanwhile
    // instead of failing it for a box not created yet or finishing the start a second time.
    const release = await this.holdStart(id);
    if (release === 'started') return;
    if (!release) {
      throw new WorkspaceError(
        'conflict',
        'Another server replica is starting this workspace; try again shortly.',
      );
    }
    let handedOver = false;
    try {
      const token = randomBytes(32).toString('base64url');
      const moved = await this.o.store.transition(id, ['pending', 'stopped', 'failed'], 'starting', {
        status_reason: 'Starting the sandbox',
        agent_token_hash: hashAgentToken(token),
        started_at: null,
        stopped_at: null,
      });
      if (!moved) {
        const row = await this.o.store.byId(id);
        if (row && (row.status === 'starting' || row.status === 'running')) return;
        throw new WorkspaceError(
          'conflict',
          `The workspace is ${row?.status ?? 'gone'}; wait until it has stopped.`,
        );
      }
      const abort = new AbortController();
      this.starts.set(id, abort);
      handedOver = true;
      void this.bringUp(id, token, abort.signal)
        .catch((err) =>
          this.o.log.error({ err, workspaceId: id }, 'workspace start could not record its outcome'),
        )
        .finally(() => {
          if (this.starts.get(id) === abort) this.starts.delete(id);
          void release();
        });
    } finally {
      if (!handedOver) await release();
    }
  }

  /**
   * The start lock of `id`, or 'started' once the replica holding it has moved the row to
   * starting (or running): a second start that lands on another replica in the moment between
   * the holder taking the lock and writing the row waits for that write instead of answering
   * "busy". Undefined if neither happens within START_WAIT_MS (the holder is stuck before its
   * first write, which a healthy store never makes last that long). Real time, not the clock:
   * this waits for another process's write.
   */
  private async holdStart(id: string): Promise<(() => Promise<void>) | 'started' | undefined> {
    const deadline = performance.now() + START_WAIT_MS;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const release = await this.hold(`workspace-start/${id}`);
      if (release) return release;
      const row = await this.o.store.byId(id);
      if (row && (row.status === 'starting' || row.status === 'running')) return 'started';
      if (performance.now() + pause > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** A cross-replica lock (`workspace-start/…`, `workspace-stop/…`); free when there is one process. */
  private hold(name: string): Promise<(() => Promise<void>) | undefined> {
    return this.o.hold ? this.o.hold(name) : Promise.resolve(async () => undefined);
  }

  /**
   * Whether no replica is starting (or stopping) the workspace now: its start (stop) lock is free.
   * The reconcile pass asks before it touches a `starting` (`stopping`) workspace whose start
   * (stop) it does not carry out itself.
   */
  async isFree(what: 'start' | 'stop', id: string): Promise<boolean> {
    const release = await this.hold(`workspace-${what}/${id}`);
    if (!release) return false;
    await release();
    return true;
  }

  /** Waits for a background start to finish (tests, CLI --wait). */
  async settled(id: string, timeoutMs = 60_000): Promise<WorkspaceRow | undefined> {
    // Real time, not the clock: this waits for real boxes and agents, which a virtual clock does
    // not move. It wakes on each status change made in this process, and reads the row again at
    // least every second for changes made by another replica.
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const changed = this.nextChange(id, Math.min(1000, Math.max(0, deadline - performance.now())));
      const row = await this.o.store.byId(id);
      if (!row || !UNSETTLED.includes(row.status) || performance.now() >= deadline) {
        changed.cancel();
        return row;
      }
      await changed.promise;
    }
  }

  /** Resolves at the next status change of `id` in this process, or after `ms`. */
  private nextChange(id: string, ms: number): { promise: Promise<void>; cancel(): void } {
    let done: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      const on = (changed: string) => {
        if (changed === id) finish();
      };
      function finish() {
        clearTimeout(timer);
        changes.off('status', on);
        resolve();
      }
      const changes = this.o.store.changes;
      changes.on('status', on);
      done = finish;
    });
    return { promise, cancel: () => done() };
  }

  /**
   * Stops the box (its files are kept). `reason` is shown as the stopped workspace's statusReason
   * (the lifecycle limits say why they stopped it); a user's stop leaves none.
   */
  async stop(id: string, opts: { reason?: string } = {}): Promise<void> {
    this.starts.get(id)?.abort();
    const row = await this.o.store.byId(id);
    if (!row) return;
    if (row.status === 'stopped' || row.status === 'pending') return;
    // Marked busy before the row says `stopping`, so the reconciler never finishes (or undoes)
    // a stop this process is still carrying out with its grace period.
    this.stopping.set(id, (this.stopping.get(id) ?? 0) + 1);
    // Held across replicas for the whole stop. A stop that finds it taken (another stop of the
    // same workspace is in flight somewhere) goes on without it: the row's transitions make the
    // second one a no-op or finish the same work, and the first one's lock still covers it.
    const release = await this.hold(`workspace-stop/${id}`);
    try {
      const moved = await this.o.store.transition(
        id,
        ['starting', 'running', 'failed', 'stopping'],
        'stopping',
        { status_reason: opts.reason ?? null },
      );
      if (!moved) return;
      const ref = parseRef(row);
      if (ref) await this.o.driver.stop(ref, { graceSeconds: this.o.config.workspaces.stopGrace });
      await this.o.hub.unlisten(id);
      await this.o.store.transition(id, ['stopping'], row.status === 'failed' ? 'failed' : 'stopped', {
        status_reason: row.status === 'failed' ? row.status_reason : (opts.reason ?? null),
      });
      // A task held by its user's running-workspace limit may start now.
      this.events.emit('stopped', id);
    } catch (err) {
      await this.fail(id, ['stopping'], err);
      throw err;
    } finally {
      await release?.();
      const left = (this.stopping.get(id) ?? 1) - 1;
      if (left > 0) this.stopping.set(id, left);
      else this.stopping.delete(id);
    }
  }

  /** Stops the box if it runs, removes it (and its files unless keepVolume) and forgets the workspace. */
  async remove(id: string, opts: { keepVolume: boolean }): Promise<void> {
    await this.stop(id);
    const row = await this.o.store.byId(id);
    if (!row) return;
    const ref = parseRef(row) ?? { kind: this.o.driver.kind, workspaceId: id, data: {} };
    await this.o.driver.remove(ref, { keepVolume: opts.keepVolume });
    await this.o.hub.unlisten(id);
    await this.o.store.delete(id);
  }

  /** Abandons starts in flight (the server is shutting down; the boxes keep running). */
  close(): void {
    for (const abort of this.starts.values()) abort.abort();
    this.starts.clear();
  }

  /** Whether a start or stop of this workspace is in flight in this process. */
  isBusy(id: string): boolean {
    return this.starts.has(id) || this.stopping.has(id);
  }

  /** Continues a start the previous control plane began: wait for the agent, clone, run. */
  resumeStart(id: string): void {
    if (this.starts.has(id)) return;
    const abort = new AbortController();
    this.starts.set(id, abort);
    void (async () => {
      let release: (() => Promise<void>) | undefined;
      try {
        // Another replica (its starter, alive after all) may be carrying the start out.
        release = await this.hold(`workspace-start/${id}`);
        if (!release) return;
        await this.o.hub.waitForAgentAnywhere(id, this.o.config.workspaces.startTimeout * 1000, abort.signal);
        await this.finishStart(id, abort.signal);
      } catch (err) {
        if (!abort.signal.aborted) {
          this.o.log.warn({ err, workspaceId: id }, 'resumed workspace start failed');
          await this.fail(id, ['starting'], err).catch((e) =>
            this.o.log.error({ err: e, workspaceId: id }, 'could not record a failed workspace start'),
          );
        }
      } finally {
        if (this.starts.get(id) === abort) this.starts.delete(id);
        await release?.();
      }
    })();
  }

  /** The connected agent of a running workspace, or undefined. */
  agent(id: string): AgentConnection | undefined {
    return this.o.hub.connection(id);
  }

  private async bringUp(id: string, token: string, signal: AbortSignal): Promise<void> {
    const { config, driver, hub, store, log } = this.o;
    try {
      const row = await store.byId(id);
      if (!row) return;
      const socketDir = await hub.listen(id);
      const placedOn = parseRef(row)?.node;
      const spec: WorkspaceSpec = {
        workspaceId: id,
        ...(placedOn === undefined ? {} : { node: placedOn }),
        resources: { cpu: Number(row.cpu), memoryBytes: Number(row.memory_bytes), pids: row.pids },
        ...(socketDir === undefined ? {} : { agentSocketDir: socketDir }),
        env: {
          RC_AGENT_URL: driver.agentTransport === 'network' ? this.o.agentUrl() : AGENT_UNIX_URL_IN_WORKSPACE,
          RC_AGENT_TOKEN: token,
          RC_WORKSPACE_ID: id,
          RC_AGENT_HEARTBEAT_MS: String(config.workspaces.heartbeatIntervalMs),
        },
      };
      // Re-create on every start: the spec carries the new agent token.
      const { placement, ...created } = await driver.create(spec);
      let ref: RuntimeRef = created;
      if (placement) log.info({ workspaceId: id, node: ref.node, placement }, 'workspace placed');
      // Where placement put it, and why, is what the workspace says while it starts.
      await store.update(id, {
        runtime_ref: JSON.stringify(ref),
        ...(placement ? { status_reason: placement } : {}),
      });
      ref = await driver.start(ref);
      await store.update(id, { runtime_ref: JSON.stringify(ref), status_reason: 'Waiting for the agent' });
      await hub.waitForAgentAnywhere(id, config.workspaces.startTimeout * 1000, signal);
      await this.finishStart(id, signal);
    } catch (err) {
      if (signal.aborted) return;
      log.warn({ err, workspaceId: id }, 'workspace start failed');
      // The box is stopped before the workspace says failed: until then it still holds its room
      // on its node, and a next workspace placed on the word "failed" must find that room free.
      const row = await store.byId(id);
      const ref = row && parseRef(row);
      if (ref) {
        await driver
          .stop(ref, { graceSeconds: 0 })
          .catch((e) =>
            log.error(
              { err: e, workspaceId: id },
              'could not stop the box of a failed start; it may still run',
            ),
          );
      }
      // No room on any node is not the workspace's failure: it goes back to stopped with the
      // sentence, and the scheduler starts it again once a node has room.
      if (err instanceof DriverError && err.reason === 'insufficient_resources') {
        if (await store.transition(id, ['starting'], 'stopped', { status_reason: err.userMessage }))
          this.events.emit('no_room', id);
        return;
      }
      await this.fail(id, ['starting'], err);
    }
  }

  /**
   * After the agent connected during a start (to this replica or another one): clone on first
   * start, then running.
   */
  async finishStart(id: string, signal?: AbortSignal): Promise<void> {
    const row = await this.o.store.byId(id);
    if (row?.status !== 'starting') return;
    if (!row.cloned) {
      await this.o.store.update(id, { status_reason: `Cloning ${row.repository}` });
      // The agent may be connected to another replica; hub.request relays the call there.
      await this.o.hub.request(
        id,
        'repo.clone',
        { url: row.repository },
        { timeoutMs: this.o.config.workspaces.cloneTimeout * 1000 },
      );
      if (signal?.aborted) return;
      await this.o.store.update(id, { cloned: 1 });
    }
    if (
      await this.o.store.transition(id, ['starting'], 'running', { status_reason: null, health: 'healthy' })
    ) {
      this.events.emit('ready', id);
    }
  }

  async fail(id: string, from: readonly WorkspaceStatus[], err: unknown): Promise<void> {
    if (await this.o.store.transition(id, from, 'failed', { status_reason: failureMessage(err) })) {
      this.events.emit('failed', id);
    }
  }

  private async onHeartbeat(
    id: string,
    usage: (typeof notifications)['agent.heartbeat']['_output'],
  ): Promise<void> {
    const { uptimeSeconds: _u, ...rest } = usage;
    await this.o.store
      .recordHeartbeat(id, rest, 'healthy')
      .catch((err) => this.o.log.warn({ err, workspaceId: id }, 'could not record a heartbeat'));
  }

  private async onCloneProgress(id: string, params: unknown): Promise<void> {
    const p = notifications['repo.progress'].safeParse(params);
    if (!p.success) return;
    const now = this.o.clock.now().getTime();
    const last = this.progressWritten.get(id);
    if (last !== undefined && now - last < 1000) return;
    this.progressWritten.set(id, now);
    await this.o.store
      .update(id, { status_reason: `Cloning: ${p.data.line}`.slice(0, 500) })
      .catch((err) => this.o.log.warn({ err, workspaceId: id }, 'could not record clone progress'));
  }
}

export function parseRef(row: WorkspaceRow): RuntimeRef | undefined {
  return row.runtime_ref ? (JSON.parse(row.runtime_ref) as RuntimeRef) : undefined;
}

/** A sentence for the workspace's statusReason. */
export function failureMessage(err: unknown): string {
  if (err instanceof DriverError) return err.userMessage;
  if (err instanceof RpcError && err.reason === 'git_failed') return `Clone failed: ${err.message}`;
  if (err instanceof RpcError) return `The agent reported an error: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
