import {
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { DescribeFileSystemsCommand, EFSClient } from '@aws-sdk/client-efs';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { realDeadline } from '../../clock.js';
import { ensureValidSpec, safeWorkspaceId, WORKSPACE_ID_PATTERN } from '../ensureValidSpec.js';
import { KeyedLock } from '../local/keyedLock.js';
import type { NodeReporter } from '../nodeReporter.js';
import {
  DriverError,
  type RuntimeDriver,
  type RuntimeRef,
  type RuntimeState,
  type WorkspaceSpec,
} from '../runtimeDriver.js';
import { EcsCluster } from './ecsCluster.js';
import type { EcsDriverConfig } from './ecsDriverConfig.js';
import { EfsVolumes } from './efsVolumes.js';
import {
  type AccessPoints,
  CONTAINER,
  familyName,
  familyPrefix,
  runTaskInput,
  specHash,
  TAG,
  taskDefinitionInput,
  taskSize,
  VOLUME_PATHS,
} from './taskDefinition.js';
import {
  apiError,
  isLive,
  PLATFORM_STOP_REASON,
  runTaskFailure,
  stopReason,
  taskState,
} from './taskState.js';

const INSTALLATION_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Small and short: the task that empties a workspace's files before its access points go. */
const WIPE_RESOURCES = { cpu: 0.25, memoryBytes: 512 * 1024 * 1024, pids: 64 };

/** What a start runs with: the spec's environment (the agent token among it) and its command. */
interface RunParams {
  env: Record<string, string>;
  command?: string[] | undefined;
}

/**
 * Runs each workspace as an ECS task (DESIGN §6): `RunTask` on the configured cluster with its
 * capacity provider strategy — Fargate/Fargate Spot, or EC2 instances of an Auto Scaling group
 * behind a capacity provider — from a task definition per workspace (family
 * `rc-<installation>_<workspace>`, the isolation profile in taskDefinition.ts), networking
 * `awsvpc` behind the configured security groups, files on two EFS access points of its own.
 * A stopped workspace is its task definition and access points with no task running; ECS owns
 * the task, so it outlives the control plane, and a fresh driver finds everything again by
 * family name, `startedBy` and tags.
 *
 * The agent dials the control plane (`agentTransport: 'network'`). ECS decides placement; the
 * cluster's container instances (or Fargate, one unbounded node) are reported through
 * `nodes()`. Throttled calls are retried by the SDK's standard retry with backoff
 * (`maxAttempts`); what AWS still refuses becomes a DriverError whose sentence says why.
 */
export class EcsDriver implements RuntimeDriver, NodeReporter {
  readonly kind = 'ecs' as const;
  readonly agentTransport = 'network' as const;
  private readonly ecs: ECSClient;
  private readonly efs: EFSClient;
  private readonly volumes: EfsVolumes;
  private readonly cluster: EcsCluster;
  private readonly locks = new KeyedLock();
  private readonly pollMs: number;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutSeconds: number;
  /**
   * The run parameters of each workspace's last `create` in this process. Per process on
   * purpose: they hold the agent token, which must not be stored. A start on another replica
   * (the reconciler restarting a task that stopped) takes them from the workspace's last task
   * instead, which ECS keeps for about an hour after it stopped (`lastRun`).
   */
  private readonly runs = new Map<string, RunParams>();

  constructor(private readonly config: EcsDriverConfig) {
    if (!INSTALLATION_PATTERN.test(config.installation)) {
      throw new Error('EcsDriverConfig.installation must be 1 to 40 of a-z, 0-9 or "-".');
    }
    if (config.capacityProviders.length === 0) {
      throw new Error('EcsDriverConfig.capacityProviders must name at least one capacity provider.');
    }
    const common = {
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      maxAttempts: config.maxAttempts ?? 6,
      retryMode: 'standard',
      requestHandler: { requestTimeout: config.callTimeoutMs ?? 30_000, connectionTimeout: 10_000 },
    };
    this.ecs = new ECSClient(common);
    this.efs = new EFSClient(common);
    this.pollMs = config.pollMs ?? 1000;
    this.startTimeoutMs = config.taskStartTimeoutMs ?? 300_000;
    this.stopTimeoutSeconds = config.stopTimeoutSeconds ?? 10;
    this.volumes = new EfsVolumes(this.efs, config.efsFileSystemId, config.installation, this.pollMs);
    this.cluster = new EcsCluster(this.ecs, config, (what, fn) => this.call(what, fn));
  }

  /**
   * Checks that the cluster exists and is active with every configured capacity provider, and
   * that the EFS file system exists.
   * @throws DriverError `unavailable` naming the key and what is wrong.
   */
  async preflight(): Promise<void> {
    const { clusters, failures } = await this.call('DescribeClusters', () =>
      this.ecs.send(new DescribeClustersCommand({ clusters: [this.config.cluster] })),
    );
    const cluster = clusters?.[0];
    if (cluster?.status !== 'ACTIVE') {
      throw new DriverError({
        reason: 'unavailable',
        userMessage: `ECS cluster ${this.config.cluster} (runtime.ecs.cluster) ${cluster ? `is ${cluster.status}` : `was not found${failures?.[0]?.reason ? ` (${failures[0].reason})` : ''}`}.`,
      });
    }
    const attached = new Set(cluster.capacityProviders ?? []);
    const missing = this.config.capacityProviders.map((p) => p.name).filter((n) => !attached.has(n));
    if (missing.length > 0) {
      throw new DriverError({
        reason: 'unavailable',
        userMessage: `ECS cluster ${this.config.cluster} has no capacity provider ${missing.join(', ')} (runtime.ecs.capacityProviders); attach it with PutClusterCapacityProviders.`,
      });
    }
    const fs = await this.call('EFS DescribeFileSystems', () =>
      this.efs.send(new DescribeFileSystemsCommand({ FileSystemId: this.config.efsFileSystemId })),
    ).catch((err: DriverError) => {
      if (/FileSystemNotFound/.test(String(err.cause))) return { FileSystems: [] };
      throw err;
    });
    if (!fs.FileSystems?.length) {
      throw new DriverError({
        reason: 'unavailable',
        userMessage: `EFS file system ${this.config.efsFileSystemId} (runtime.ecs.efsFileSystemId) was not found in ${this.config.region}.`,
      });
    }
  }

  /**
   * Makes the workspace's access points (once) and registers its task definition, or a new
   * revision when the limits or settings changed (the old revision is deregistered; a task
   * running from it keeps running). Remembers the spec's environment and command for the next
   * start; a live task started with other ones (an earlier token) is stopped, so the next start
   * runs the new spec. Idempotent.
   * @throws DriverError `invalid_spec` (bad values, or a size no task can have); `unavailable`.
   */
  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    ensureValidSpec(spec, this.agentTransport);
    const id = spec.workspaceId;
    taskSize(spec.resources, this.cluster.fargate);
    return this.locks.run(id, async () => {
      const current = await this.describeFamily(id);
      const points = (current && accessPointsOf(current.taskDefinition)) ?? (await this.volumes.ensure(id));
      const input = taskDefinitionInput(this.config, id, spec.resources, points);
      let arn = current?.taskDefinition.taskDefinitionArn;
      if (!current || current.hash !== specHash(input)) {
        const registered = await this.call('RegisterTaskDefinition', () =>
          this.ecs.send(new RegisterTaskDefinitionCommand(input)),
        );
        arn = registered.taskDefinition?.taskDefinitionArn;
        if (current) await this.deregister([current.taskDefinition.taskDefinitionArn as string]);
      }
      const run: RunParams = { env: spec.env, ...(spec.command ? { command: spec.command } : {}) };
      const live = (await this.tasks(id, 'RUNNING')).filter(isLive);
      const stale = live.filter((t) => t.taskDefinitionArn !== arn || !sameRun(runOf(t), run));
      if (stale.length > 0) await this.stopTasks(stale);
      this.runs.set(id, run);
      return this.ref(id);
    });
  }

  /**
   * Runs the workspace's task and resolves once it is RUNNING (or, for a spec.command, has run).
   * Idempotent: a live task is left alone.
   * @throws DriverError `not_found` (no task definition); `insufficient_resources` (no room in
   * the cluster, or no Fargate capacity: the workspace waits and is started again);
   * `start_failed` with ECS's reason (the image could not be pulled, the task stopped at once,
   * it did not reach RUNNING within taskStartTimeout, or its run parameters are gone).
   */
  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    const id = safeWorkspaceId(ref);
    const notFound = new DriverError({
      reason: 'not_found',
      userMessage: `Workspace ${ref.workspaceId} has no ECS task definition to start.`,
    });
    if (id === undefined) throw notFound;
    return this.locks.run(id, async () => {
      const current = await this.describeFamily(id);
      if (!current) throw notFound;
      const running = await this.tasks(id, 'RUNNING');
      if (running.some(isLive)) return this.ref(id);
      // One whose container just exited may still be desired RUNNING: it counts as the last one.
      const last = latest([...running, ...(await this.tasks(id, 'STOPPED'))]);
      const run = this.runs.get(id) ?? (last && runOf(last));
      if (!run) {
        throw new DriverError({
          reason: 'start_failed',
          userMessage:
            "The workspace's last ECS task stopped too long ago for it to be restarted as it was; start the workspace again.",
        });
      }
      const arn = current.taskDefinition.taskDefinitionArn as string;
      const task = await this.runTask(id, arn, run, last?.taskArn);
      const done = await this.waitTask(
        task,
        (t) => t.lastStatus === 'RUNNING' || !isLive(t),
        this.startTimeoutMs,
      );
      if (done.lastStatus === 'RUNNING') return this.ref(id);
      if (isLive(done)) {
        await this.stopTasks([done]);
        throw new DriverError({
          reason: 'start_failed',
          userMessage: `The workspace's ECS task did not reach RUNNING within ${Math.round(this.startTimeoutMs / 1000)} s (it was ${done.lastStatus}); see runtime.ecs.taskStartTimeout.`,
        });
      }
      if (run.command) return this.ref(id);
      throw new DriverError({
        reason: 'start_failed',
        userMessage: stopReason(done) ?? `The workspace's ECS task stopped as soon as it started.`,
      });
    });
  }

  /**
   * StopTask on the workspace's live tasks, resolving once ECS reports them stopped. ECS sends
   * SIGTERM and SIGKILL after the task definition's stopTimeout (workspaces.stopGrace, at most
   * 120 s): it takes no grace per call, so `graceSeconds` is not used. Keeps the files.
   * Idempotent.
   */
  async stop(ref: RuntimeRef, _opts?: { graceSeconds?: number }): Promise<void> {
    const id = safeWorkspaceId(ref);
    if (id === undefined) return;
    await this.locks.run(id, async () => {
      await this.stopTasks((await this.tasks(id, 'RUNNING')).filter(isLive));
    });
  }

  /**
   * Stops the tasks and deregisters every revision of the workspace's task definition; unless
   * `keepVolume`, empties its files with a short task that mounts its access points (EFS keeps
   * an access point's files when the access point is deleted), then deletes them. Idempotent.
   * @throws DriverError `unavailable` when the files could not be emptied (the access points
   * stay, so a later remove tries again).
   */
  async remove(ref: RuntimeRef, opts?: { keepVolume?: boolean }): Promise<void> {
    const id = safeWorkspaceId(ref);
    if (id === undefined) return;
    await this.locks.run(id, async () => {
      await this.stopTasks((await this.tasks(id, 'RUNNING')).filter(isLive));
      this.runs.delete(id);
      if (!opts?.keepVolume) {
        const current = await this.describeFamily(id);
        const points = (current && accessPointsOf(current.taskDefinition)) ?? (await this.volumes.find(id));
        if (points.workspace && points.home) await this.wipe(id, points as AccessPoints);
        await this.volumes.delete(points);
      }
      await this.deregister(await this.revisions(id));
    });
  }

  /**
   * running while a task of the workspace lives; stopped (with its last task's exit code and
   * why, while ECS still has it) when only the task definition is left; missing without one.
   */
  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    const id = safeWorkspaceId(ref);
    if (id === undefined) return { status: 'missing' };
    const running = await this.tasks(id, 'RUNNING');
    if (running.some(isLive)) return { status: 'running' };
    if (!(await this.describeFamily(id))) return { status: 'missing' };
    // A task whose container just exited may still be desired RUNNING for a moment.
    const last = latest([...running, ...(await this.tasks(id, 'STOPPED'))]);
    return last ? taskState(last) : { status: 'stopped' };
  }

  /** Every workspace with a task definition of this installation, or a task of it still live. */
  async list(): Promise<RuntimeRef[]> {
    const ids = new Set<string>();
    const prefix = familyPrefix(this.config.installation);
    let nextToken: string | undefined;
    do {
      const page = await this.call('ListTaskDefinitionFamilies', () =>
        this.ecs.send(
          new ListTaskDefinitionFamiliesCommand({ familyPrefix: prefix, status: 'ACTIVE', nextToken }),
        ),
      );
      for (const f of page.families ?? []) if (f.startsWith(prefix)) ids.add(f.slice(prefix.length));
      nextToken = page.nextToken;
    } while (nextToken);
    for (const task of await this.cluster.installationTasks()) {
      const ws = task.tags?.find((t) => t.key === TAG.workspace)?.value;
      if (ws && isLive(task)) ids.add(ws);
    }
    return [...ids]
      .filter((w) => WORKSPACE_ID_PATTERN.test(w))
      .sort()
      .map((w) => this.ref(w));
  }

  /** The cluster's container instances, or Fargate as one node without a capacity limit. */
  nodes(): Promise<NodeItem[]> {
    return this.cluster.nodes();
  }

  async close(): Promise<void> {
    this.ecs.destroy();
    this.efs.destroy();
  }

  private async runTask(id: string, arn: string, run: RunParams, after: string | undefined): Promise<Task> {
    const out = await this.call('RunTask', () =>
      this.ecs.send(new RunTaskCommand(runTaskInput(this.config, arn, id, run, after))),
    );
    const task = out.tasks?.[0];
    if (!task) throw runTaskFailure(out.failures ?? [], this.config.cluster);
    return task;
  }

  /** Empties the workspace's files: a task of its family that mounts both access points. */
  private async wipe(id: string, points: AccessPoints): Promise<void> {
    const input = taskDefinitionInput(this.config, id, WIPE_RESOURCES, points);
    const registered = await this.call('RegisterTaskDefinition', () =>
      this.ecs.send(new RegisterTaskDefinitionCommand(input)),
    );
    const arn = registered.taskDefinition?.taskDefinitionArn as string;
    const dirs = Object.values(VOLUME_PATHS).join(' ');
    const run = { env: {}, command: ['/bin/sh', '-c', `find ${dirs} -mindepth 1 -delete`] };
    const failed = (why: string) =>
      new DriverError({
        reason: 'unavailable',
        userMessage: `The workspace's files on EFS could not be deleted (${why}); deleting it again retries.`,
      });
    let task: Task;
    try {
      task = await this.runTask(id, arn, run, `wipe-${Date.now()}`);
    } catch (err) {
      throw failed(err instanceof DriverError ? err.userMessage : String(err));
    }
    const done = await this.waitTask(task, (t) => t.lastStatus === 'STOPPED', this.startTimeoutMs + 60_000);
    const exit = done.containers?.find((c) => c.name === CONTAINER)?.exitCode;
    if (exit !== 0) {
      throw failed(
        done.lastStatus === 'STOPPED'
          ? (stopReason(done) ?? `exit code ${exit ?? 'unknown'}`)
          : `the task is ${done.lastStatus}`,
      );
    }
  }

  /** StopTask on each, then waits until ECS reports them stopped (stopTimeout plus a margin). */
  private async stopTasks(tasks: Task[]): Promise<void> {
    for (const t of tasks) {
      await this.call('StopTask', () =>
        this.ecs.send(
          new StopTaskCommand({
            cluster: this.config.cluster,
            task: t.taskArn,
            reason: PLATFORM_STOP_REASON,
          }),
        ),
      );
    }
    for (const t of tasks) {
      const done = await this.waitTask(t, (x) => !isLive(x), (this.stopTimeoutSeconds + 60) * 1000);
      if (isLive(done)) {
        throw new DriverError({
          reason: 'unavailable',
          userMessage: `ECS has not stopped the workspace's task ${t.taskArn} yet (it is ${done.lastStatus}).`,
        });
      }
    }
  }

  private async waitTask(task: Task, until: (t: Task) => boolean, ms: number): Promise<Task> {
    const deadline = realDeadline(ms);
    let now = task;
    // From 25 ms doubling to pollMs: a fast start is seen at once, a slow one costs few calls.
    for (let delay = 25; ; delay = Math.min(delay * 2, this.pollMs)) {
      if (until(now) || deadline.passed()) return now;
      await new Promise((r) => setTimeout(r, Math.min(delay, this.pollMs)));
      const [fresh] = await this.cluster.describeTasks([now.taskArn as string]);
      if (fresh) now = fresh;
    }
  }

  /** The workspace's tasks that ECS lists with this desired status (STOPPED ones for about an hour). */
  private tasks(id: string, desiredStatus: 'RUNNING' | 'STOPPED'): Promise<Task[]> {
    return this.cluster.listTasks({ family: familyName(this.config.installation, id), desiredStatus });
  }

  /** The family's latest ACTIVE revision and the hash it was registered with; undefined when none. */
  private async describeFamily(
    id: string,
  ): Promise<{ taskDefinition: TaskDefinition; hash?: string } | undefined> {
    try {
      const out = await this.ecs.send(
        new DescribeTaskDefinitionCommand({
          taskDefinition: familyName(this.config.installation, id),
          include: ['TAGS'],
        }),
      );
      if (out.taskDefinition?.status !== 'ACTIVE') return undefined;
      const hash = out.tags?.find((t) => t.key === TAG.spec)?.value;
      return { taskDefinition: out.taskDefinition, ...(hash ? { hash } : {}) };
    } catch (err) {
      // ECS answers a family with no ACTIVE revision with a ClientException.
      if ((err as { name?: string }).name === 'ClientException') return undefined;
      throw apiError(err, 'ECS DescribeTaskDefinition');
    }
  }

  /** ARNs of the family's ACTIVE revisions. ListTaskDefinitions matches by prefix: the family is checked. */
  private async revisions(id: string): Promise<string[]> {
    const family = familyName(this.config.installation, id);
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('ListTaskDefinitions', () =>
        this.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', nextToken })),
      );
      arns.push(
        ...(page.taskDefinitionArns ?? []).filter((a) => a.split('/').pop()?.split(':')[0] === family),
      );
      nextToken = page.nextToken;
    } while (nextToken);
    return arns;
  }

  private async deregister(arns: string[]): Promise<void> {
    for (const arn of arns) {
      await this.call('DeregisterTaskDefinition', () =>
        this.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })),
      );
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw apiError(err, what.startsWith('EFS') ? what : `ECS ${what}`);
    }
  }

  private ref(workspaceId: string): RuntimeRef {
    return {
      kind: 'ecs',
      workspaceId,
      data: { cluster: this.config.cluster, family: familyName(this.config.installation, workspaceId) },
    };
  }
}

/** The access points a registered task definition mounts; undefined if it lacks either. */
function accessPointsOf(td: TaskDefinition): AccessPoints | undefined {
  const ap = (name: string) =>
    td.volumes?.find((v) => v.name === name)?.efsVolumeConfiguration?.authorizationConfig?.accessPointId;
  const workspace = ap('workspace');
  const home = ap('home');
  return workspace && home ? { workspace, home } : undefined;
}

/**
 * The environment and command a workspace's task was run with (its overrides); undefined for a
 * task that is not a run of the workspace (the one that empties its files has no RC_AGENT_URL).
 */
function runOf(task: Task): RunParams | undefined {
  const o = task.overrides?.containerOverrides?.find((c) => c.name === CONTAINER);
  const env = Object.fromEntries((o?.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']));
  if (!env.RC_AGENT_URL) return undefined;
  return { env, ...(o?.command ? { command: o.command } : {}) };
}

function sameRun(a: RunParams | undefined, b: RunParams): boolean {
  if (!a) return false;
  const keys = (e: Record<string, string>) => Object.keys(e).sort();
  return (
    JSON.stringify(keys(a.env).map((k) => [k, a.env[k]])) ===
      JSON.stringify(keys(b.env).map((k) => [k, b.env[k]])) &&
    JSON.stringify(a.command ?? null) === JSON.stringify(b.command ?? null)
  );
}

/** The most recently created run of the workspace. */
function latest(tasks: Task[]): Task | undefined {
  return tasks
    .filter((t) => runOf(t) !== undefined)
    .sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0))
    .at(-1);
}
