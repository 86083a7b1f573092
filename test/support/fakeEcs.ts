// A fake AWS ECS + EFS endpoint for tests: one HTTP server on loopback that the real
// @aws-sdk/client-ecs and client-efs talk to through `endpoint` (ECS speaks JSON 1.1 with the
// operation in X-Amz-Target; EFS REST-JSON under /2015-02-01/). It keeps task definitions, tasks,
// container instances and access points in memory and runs each task as a container on the real
// local Docker engine (fakeEcsTasks.ts), with lastStatus PROVISIONING → PENDING → RUNNING →
// DEPROVISIONING → STOPPED, stop codes, stopped reasons and exit codes as ECS reports them.
// Switches inject a pull failure, RunTask failures (RESOURCE:MEMORY, Fargate capacity) and
// ThrottlingException. Only the operations and fields the ecs driver uses; test support only.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { FakeEcsNetwork } from './fakeEcsNetwork.js';
import { validateTaskDefinition } from './fakeEcsTaskDefinition.js';
import {
  containerFor,
  type FakeAccessPoint,
  FakeTaskContainer,
  type FakeTaskDefinition,
} from './fakeEcsTasks.js';
import { ACCOUNT, AwsError, FakeEfs, type Json } from './fakeEfs.js';

export const FAKE_CREDENTIALS = {
  accessKeyId: 'AKIAFAKEECS0000TEST',
  secretAccessKey: 'fake-secret-key-for-tests-only',
};
interface Revision {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  body: Json & FakeTaskDefinition;
  tags: { key: string; value: string }[];
}

interface FakeTask {
  json: Json & {
    taskArn: string;
    lastStatus: string;
    desiredStatus: string;
    containers: Json[];
    createdAt: number;
  };
  family: string;
  startedBy?: string;
  clientToken?: string;
  containerInstanceArn?: string;
  runner?: FakeTaskContainer;
  stopTimeout: number;
  done: Promise<void>;
}

export interface FakeEcsOptions {
  /** `fargate`: one unbounded pool; `ec2`: container instances with this much room each. */
  mode: 'fargate' | 'ec2';
  instances?: { id: string; cpu: number; memoryMiB: number }[];
  cluster?: string;
  fileSystemId?: string;
  /** Docker socket the tasks run on. Default /var/run/docker.sock. */
  docker?: string;
  /** Give each task a veth to the host (fakeEcsNetwork.ts). Default true. */
  network?: boolean;
}

export class FakeEcs {
  readonly region = 'eu-west-1';
  readonly cluster: string;
  readonly fileSystemId: string;
  url = '';
  network: FakeEcsNetwork | undefined;
  /** Every call: its operation, the access key id and region it was signed with. */
  readonly calls: { op: string; accessKeyId: string; region: string }[] = [];
  /** Switches. */
  readonly inject = {
    /** Images whose pull fails (CannotPullContainerError), by exact name. */
    pullFailures: new Set<string>(),
    /** The next RunTask calls answer with this failure instead of a task. */
    runTaskFailures: [] as { reason: string; detail?: string }[],
    /** The next `count` calls of `op` (any op when unset) answer ThrottlingException. */
    throttle: { count: 0, op: undefined as string | undefined },
  };
  private readonly defs = new Map<string, Revision[]>();
  private readonly tasks = new Map<string, FakeTask>();
  private readonly docker: Docker;
  private readonly label = `fakeecs-${randomBytes(3).toString('hex')}`;
  private server: Server | undefined;
  private efs!: FakeEfs;

  private constructor(private readonly opts: FakeEcsOptions) {
    this.cluster = opts.cluster ?? 'fake-cluster';
    this.fileSystemId = opts.fileSystemId ?? `fs-${randomBytes(8).toString('hex')}`;
    this.docker = new Docker({ socketPath: opts.docker ?? '/var/run/docker.sock' });
  }

  static async start(opts: FakeEcsOptions): Promise<FakeEcs> {
    const fake = new FakeEcs(opts);
    fake.efs = new FakeEfs(fake.region, fake.fileSystemId, await mkdtemp(join(tmpdir(), 'rc-fakeefs-')));
    if (opts.network !== false) fake.network = await FakeEcsNetwork.create();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    fake.server.listen(0, '127.0.0.1');
    await once(fake.server, 'listening');
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  get capacityProviders(): string[] {
    return this.opts.mode === 'fargate' ? ['FARGATE', 'FARGATE_SPOT'] : ['fake-asg-provider'];
  }

  /** The host directory holding an access point's files (what EFS would store). */
  accessPointDir(id: string): string | undefined {
    return this.efs.dir(id);
  }

  /** Access points that exist, with their tags. */
  listAccessPoints(): (FakeAccessPoint & Json)[] {
    return this.efs.list();
  }

  /** The latest ACTIVE revision of `family`, as registered. */
  taskDefinition(family: string): Revision | undefined {
    return this.defs
      .get(family)
      ?.filter((r) => r.status === 'ACTIVE')
      .at(-1);
  }

  /** Tasks as DescribeTasks shows them. */
  describe(filter: (t: Json) => boolean = () => true): Json[] {
    return [...this.tasks.values()].map((t) => t.json).filter(filter);
  }

  /** Kills a task's container from outside ECS (a crash): it stops with the container's exit code. */
  async kill(taskArn: string, signal = 'SIGKILL'): Promise<void> {
    const t = this.tasks.get(taskArn);
    const name = `${this.label}-${taskArn.split('/').pop()}`;
    await this.docker.getContainer(name).kill({ signal });
    await t?.done;
  }

  async close(): Promise<void> {
    for (const t of this.tasks.values()) await t.runner?.remove();
    await Promise.all([...this.tasks.values()].map((t) => t.done.catch(() => {})));
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
    await this.network?.close();
    await rm(this.efs.root, { recursive: true, force: true });
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const auth = /Credential=([^/]+)\/\d+\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization ?? '');
    const target = String(req.headers['x-amz-target'] ?? '');
    const url = new URL(req.url ?? '/', 'http://fake');
    const op = target
      ? (target.split('.')[1] ?? '')
      : `EFS:${req.method} ${url.pathname.split('/')[2] ?? ''}`;
    this.calls.push({ op, accessKeyId: auth?.[1] ?? '', region: auth?.[2] ?? '' });
    const efs = !target;
    try {
      if (auth?.[1] !== FAKE_CREDENTIALS.accessKeyId) {
        throw new AwsError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
          403,
        );
      }
      const th = this.inject.throttle;
      if (th.count > 0 && (th.op === undefined || th.op === op)) {
        th.count--;
        throw new AwsError('ThrottlingException', 'Rate exceeded');
      }
      const out = efs
        ? await this.efs.handle(req.method ?? 'GET', url, raw)
        : await this.ecs(op, raw ? JSON.parse(raw) : {});
      if (out === undefined) {
        res.writeHead(204).end();
        return;
      }
      res.writeHead(200, { 'content-type': efs ? 'application/json' : 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(out));
    } catch (err) {
      const e = err instanceof AwsError ? err : new AwsError('ServerException', String(err), 500);
      res.writeHead(e.status, {
        'content-type': efs ? 'application/json' : 'application/x-amz-json-1.1',
        'x-amzn-errortype': e.code,
      });
      res.end(
        JSON.stringify(
          efs ? { ErrorCode: e.code, Message: e.message } : { __type: e.code, message: e.message },
        ),
      );
    }
  }

  // ---- ECS ----

  private async ecs(op: string, body: Json): Promise<Json> {
    const ops: Record<string, (b: Json) => Json | Promise<Json>> = {
      DescribeClusters: (b) => this.describeClusters(b),
      RegisterTaskDefinition: (b) => this.register(b),
      DescribeTaskDefinition: (b) => {
        const r = this.resolve(String(b.taskDefinition));
        if (!r) throw new AwsError('ClientException', 'Unable to describe task definition.');
        return { taskDefinition: this.tdJson(r), ...(has(b.include, 'TAGS') ? { tags: r.tags } : {}) };
      },
      DeregisterTaskDefinition: (b) => {
        const r = this.resolve(String(b.taskDefinition), true);
        if (!r) throw new AwsError('ClientException', 'The specified task definition does not exist.');
        r.status = 'INACTIVE';
        return { taskDefinition: this.tdJson(r) };
      },
      ListTaskDefinitionFamilies: (b) => ({
        families: [...this.defs.entries()]
          .filter(
            ([f, revs]) =>
              f.startsWith(String(b.familyPrefix ?? '')) &&
              (b.status !== 'ACTIVE' || revs.some((r) => r.status === 'ACTIVE')),
          )
          .map(([f]) => f)
          .sort(),
      }),
      ListTaskDefinitions: (b) => ({
        taskDefinitionArns: [...this.defs.values()]
          .flat()
          .filter(
            (r) => r.family.startsWith(String(b.familyPrefix ?? '')) && r.status === (b.status ?? 'ACTIVE'),
          )
          .map((r) => r.arn),
      }),
      RunTask: (b) => this.runTask(b),
      StopTask: (b) => this.stopTask(b),
      DescribeTasks: (b) => {
        this.ensureCluster(b.cluster);
        const wanted = (b.tasks as string[]) ?? [];
        const found = wanted.map(
          (a) => this.tasks.get(a) ?? [...this.tasks.values()].find((t) => t.json.taskArn.endsWith(`/${a}`)),
        );
        return {
          tasks: found
            .filter((t) => t !== undefined)
            .map((t) => (has(b.include, 'TAGS') ? t.json : { ...t.json, tags: undefined })),
          failures: wanted.filter((_, i) => !found[i]).map((arn) => ({ arn, reason: 'MISSING' })),
        };
      },
      ListTasks: (b) => {
        this.ensureCluster(b.cluster);
        const desired = b.desiredStatus ?? 'RUNNING';
        return {
          taskArns: [...this.tasks.values()]
            .filter(
              (t) =>
                t.json.desiredStatus === desired &&
                (b.family === undefined || t.family === b.family) &&
                (b.startedBy === undefined || t.startedBy === b.startedBy),
            )
            .map((t) => t.json.taskArn),
        };
      },
      ListContainerInstances: (b) => {
        this.ensureCluster(b.cluster);
        return { containerInstanceArns: (this.opts.instances ?? []).map((i) => this.instanceArn(i.id)) };
      },
      DescribeContainerInstances: (b) => {
        this.ensureCluster(b.cluster);
        return {
          containerInstances: (this.opts.instances ?? [])
            .filter((i) => has(b.containerInstances, this.instanceArn(i.id)))
            .map((i) => this.instanceJson(i)),
        };
      },
    };
    const fn = ops[op];
    if (!fn) throw new AwsError('UnknownOperationException', `fake ECS does not implement ${op}`);
    return fn(body);
  }

  private describeClusters(b: Json): Json {
    const names = (b.clusters as string[]) ?? [];
    return {
      clusters: names
        .filter((n) => n === this.cluster || n === this.clusterArn())
        .map(() => ({
          clusterArn: this.clusterArn(),
          clusterName: this.cluster,
          status: 'ACTIVE',
          capacityProviders: this.capacityProviders,
        })),
      failures: names
        .filter((n) => n !== this.cluster && n !== this.clusterArn())
        .map((arn) => ({ arn, reason: 'MISSING' })),
    };
  }

  private register(b: Json): Json {
    const family = validateTaskDefinition(b);
    const revs = this.defs.get(family) ?? [];
    const revision = (revs.at(-1)?.revision ?? 0) + 1;
    const { tags, ...def } = b;
    const r: Revision = {
      arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:task-definition/${family}:${revision}`,
      family,
      revision,
      status: 'ACTIVE',
      body: def as Json & FakeTaskDefinition,
      tags: (tags as Revision['tags']) ?? [],
    };
    revs.push(r);
    this.defs.set(family, revs);
    return { taskDefinition: this.tdJson(r), tags: r.tags };
  }

  private resolve(ref: string, anyStatus = false): Revision | undefined {
    const m = /task-definition\/([^:]+):(\d+)$/.exec(ref) ?? /^([A-Za-z0-9_-]+):(\d+)$/.exec(ref);
    if (m) {
      const r = this.defs.get(m[1] as string)?.find((x) => x.revision === Number(m[2]));
      return r && (anyStatus || r.status === 'ACTIVE') ? r : undefined;
    }
    return this.defs
      .get(ref)
      ?.filter((r) => r.status === 'ACTIVE')
      .at(-1);
  }

  private tdJson(r: Revision): Json {
    return { ...r.body, taskDefinitionArn: r.arn, family: r.family, revision: r.revision, status: r.status };
  }

  private runTask(b: Json): Json {
    this.ensureCluster(b.cluster);
    const token = b.clientToken as string | undefined;
    const again = token && [...this.tasks.values()].find((t) => t.clientToken === token);
    if (again) return { tasks: [again.json], failures: [] };
    const def = this.resolve(String(b.taskDefinition));
    if (!def) throw new AwsError('ClientException', 'TaskDefinition not found or inactive.');
    for (const s of (b.capacityProviderStrategy as { capacityProvider: string }[]) ?? []) {
      if (!this.capacityProviders.includes(s.capacityProvider)) {
        throw new AwsError(
          'InvalidParameterException',
          `The specified capacity provider ${s.capacityProvider} is not associated with the cluster.`,
        );
      }
    }
    const vpc = (b.networkConfiguration as Json | undefined)?.awsvpcConfiguration as Json | undefined;
    if (!(vpc?.subnets as string[] | undefined)?.length) {
      throw new AwsError(
        'InvalidParameterException',
        'Network Configuration must be provided when networkMode is awsvpc.',
      );
    }
    const injected = this.inject.runTaskFailures.shift();
    if (injected) return { tasks: [], failures: [{ arn: this.clusterArn(), ...injected }] };
    const cpu = Number(def.body.cpu ?? 0);
    const memory = Number(def.body.memory ?? 0);
    let instance: string | undefined;
    if (this.opts.mode === 'ec2') {
      const fit = (this.opts.instances ?? []).find((i) => {
        const u = this.instanceUse(i.id);
        return u.cpu + cpu <= i.cpu * 1024 && u.memory + memory <= i.memoryMiB;
      });
      if (!fit) {
        const anyCpu = (this.opts.instances ?? []).some(
          (i) => this.instanceUse(i.id).cpu + cpu <= i.cpu * 1024,
        );
        return {
          tasks: [],
          failures: [{ arn: this.instanceArn('none'), reason: anyCpu ? 'RESOURCE:MEMORY' : 'RESOURCE:CPU' }],
        };
      }
      instance = this.instanceArn(fit.id);
    }
    const id = randomBytes(16).toString('hex');
    const arn = `arn:aws:ecs:${this.region}:${ACCOUNT}:task/${this.cluster}/${id}`;
    const override = ((b.overrides as Json | undefined)?.containerOverrides as Json[] | undefined)?.[0] as
      | { name?: string; environment?: { name: string; value: string }[]; command?: string[] }
      | undefined;
    const container = def.body.containerDefinitions[0];
    if (override && override.name !== container?.name) {
      throw new AwsError(
        'InvalidParameterException',
        'Override for container named x is not a container in the TaskDefinition.',
      );
    }
    const task: FakeTask = {
      json: {
        taskArn: arn,
        clusterArn: this.clusterArn(),
        taskDefinitionArn: def.arn,
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        cpu: String(cpu),
        memory: String(memory),
        launchType: this.opts.mode === 'fargate' ? 'FARGATE' : 'EC2',
        capacityProviderName: (b.capacityProviderStrategy as { capacityProvider: string }[])?.[0]
          ?.capacityProvider,
        startedBy: b.startedBy,
        group: `family:${def.family}`,
        createdAt: Date.now() / 1000,
        overrides: b.overrides ?? {},
        tags: b.tags ?? [],
        containers: [{ name: container?.name, image: container?.image, lastStatus: 'PENDING', taskArn: arn }],
        ...(instance ? { containerInstanceArn: instance } : {}),
      },
      family: def.family,
      ...(typeof b.startedBy === 'string' ? { startedBy: b.startedBy } : {}),
      ...(token ? { clientToken: token } : {}),
      ...(instance ? { containerInstanceArn: instance } : {}),
      stopTimeout: container?.stopTimeout ?? 30,
      done: Promise.resolve(),
    };
    this.tasks.set(arn, task);
    task.done = this.lifecycle(task, def, override ?? {});
    return { tasks: [task.json], failures: [] };
  }

  /** PROVISIONING → PENDING (pull) → RUNNING (container up, ENI attached) → STOPPED. */
  private async lifecycle(
    task: FakeTask,
    def: Revision,
    override: { environment?: { name: string; value: string }[]; command?: string[] },
  ): Promise<void> {
    const j = task.json;
    const c0 = j.containers[0] as Json;
    const stopped = (fields: Json, container: Json = {}) => {
      j.lastStatus = 'STOPPED';
      j.desiredStatus = 'STOPPED';
      j.stoppedAt = Date.now() / 1000;
      Object.assign(j, fields);
      Object.assign(c0, { lastStatus: 'STOPPED', ...container });
      this.network?.detach(j.taskArn);
    };
    await tick();
    j.lastStatus = 'PENDING';
    const image = def.body.containerDefinitions[0]?.image ?? '';
    const present = await this.docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (this.inject.pullFailures.has(image) || !present) {
      const why = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: not found`;
      stopped({ stopCode: 'TaskFailedToStart', stoppedReason: why }, { reason: why });
      return;
    }
    if (j.desiredStatus === 'STOPPED') {
      stopped({});
      return;
    }
    const runner = new FakeTaskContainer(this.docker, this.network);
    task.runner = runner;
    const taskId = j.taskArn.split('/').pop() as string;
    try {
      const options = await containerFor(
        {
          taskId,
          def: def.body,
          env: Object.fromEntries((override.environment ?? []).map((e) => [e.name, e.value])),
          command: override.command,
          accessPoint: (id) => this.efs.accessPoint(id),
        },
        { prefix: this.label, efsRoot: this.efs.root, label: this.label },
      );
      const address = await runner.start(options, j.taskArn);
      j.attachments = [
        {
          type: 'ElasticNetworkInterface',
          status: 'ATTACHED',
          details: [{ name: 'privateIPv4Address', value: address ?? '' }],
        },
      ];
      j.lastStatus = 'RUNNING';
      j.startedAt = Date.now() / 1000;
      c0.lastStatus = 'RUNNING';
    } catch (err) {
      const message = String((err as Error).message ?? err);
      const why = /^(ResourceInitializationError|CannotCreateVolumeError)/.test(message)
        ? message
        : `CannotStartContainerError: ${message}`;
      await runner.remove();
      stopped({ stopCode: 'TaskFailedToStart', stoppedReason: why }, { reason: why });
      return;
    }
    const exit = await runner.wait();
    // The container is reported stopped with its exit code first; the task deprovisions after.
    Object.assign(c0, {
      lastStatus: 'STOPPED',
      exitCode: exit.exitCode,
      ...(exit.oomKilled ? { reason: 'OutOfMemoryError: Container killed due to memory usage' } : {}),
    });
    j.desiredStatus = 'STOPPED';
    j.lastStatus = 'DEPROVISIONING';
    await runner.remove();
    const byUser = j.stopCode === 'UserInitiated';
    stopped(
      byUser
        ? {}
        : { stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' },
    );
  }

  private async stopTask(b: Json): Promise<Json> {
    this.ensureCluster(b.cluster);
    const t =
      this.tasks.get(String(b.task)) ??
      [...this.tasks.values()].find((x) => x.json.taskArn.endsWith(`/${b.task}`));
    if (!t) throw new AwsError('InvalidParameterException', 'The referenced task was not found.');
    if (t.json.desiredStatus !== 'STOPPED') {
      t.json.desiredStatus = 'STOPPED';
      t.json.stopCode = 'UserInitiated';
      t.json.stoppedReason = typeof b.reason === 'string' ? b.reason : 'Task stopped by user';
      t.json.stoppingAt = Date.now() / 1000;
      void t.runner?.stop(t.stopTimeout);
    }
    return { task: t.json };
  }

  private ensureCluster(name: unknown): void {
    if (name !== this.cluster && name !== this.clusterArn())
      throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
  }

  private clusterArn(): string {
    return `arn:aws:ecs:${this.region}:${ACCOUNT}:cluster/${this.cluster}`;
  }

  private instanceArn(id: string): string {
    return `arn:aws:ecs:${this.region}:${ACCOUNT}:container-instance/${this.cluster}/${id}`;
  }

  private instanceUse(id: string): { cpu: number; memory: number; count: number } {
    const live = [...this.tasks.values()].filter(
      (t) => t.containerInstanceArn === this.instanceArn(id) && t.json.lastStatus !== 'STOPPED',
    );
    return {
      cpu: live.reduce((s, t) => s + Number(t.json.cpu), 0),
      memory: live.reduce((s, t) => s + Number(t.json.memory), 0),
      count: live.length,
    };
  }

  private instanceJson(i: { id: string; cpu: number; memoryMiB: number }): Json {
    const u = this.instanceUse(i.id);
    return {
      containerInstanceArn: this.instanceArn(i.id),
      ec2InstanceId: i.id,
      status: 'ACTIVE',
      agentConnected: true,
      runningTasksCount: u.count,
      registeredResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: i.cpu * 1024 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: i.memoryMiB },
      ],
      remainingResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: i.cpu * 1024 - u.cpu },
        { name: 'MEMORY', type: 'INTEGER', integerValue: i.memoryMiB - u.memory },
      ],
    };
  }
}

function has(list: unknown, value: string): boolean {
  return Array.isArray(list) && list.includes(value);
}

function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 20));
}
