// How the fake ECS endpoint runs a task: as a container on the real local Docker engine, with
// the task definition's isolation fields mapped onto the container the way the ECS agent maps
// them (user, read-only root, privileged, capabilities, init, security options, memory and CPU
// limits, no swap), EFS access points as bind mounts of their root directory under the fake file
// system's host directory (created with the access point's owner and permissions on first mount,
// as EFS does), a task-scoped volume as a tmpfs, and NetworkMode none plus a veth of the test's
// own (fakeEcsNetwork.ts). Test support only.
import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { FakeEcsNetwork } from './fakeEcsNetwork.js';

const MiB = 1024 * 1024;

/** The parts of a registered task definition the runner reads (ECS JSON shapes). */
export interface FakeTaskDefinition {
  cpu?: string;
  memory?: string;
  requiresCompatibilities?: string[];
  containerDefinitions: {
    name: string;
    image: string;
    command?: string[];
    user?: string;
    readonlyRootFilesystem?: boolean;
    privileged?: boolean;
    dockerSecurityOptions?: string[];
    linuxParameters?: {
      initProcessEnabled?: boolean;
      capabilities?: { add?: string[]; drop?: string[] };
      maxSwap?: number;
    };
    cpu?: number;
    memory?: number;
    ulimits?: { name: string; softLimit: number; hardLimit: number }[];
    workingDirectory?: string;
    environment?: { name: string; value: string }[];
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
    stopTimeout?: number;
  }[];
  volumes?: {
    name: string;
    efsVolumeConfiguration?: { fileSystemId: string; authorizationConfig?: { accessPointId?: string } };
  }[];
}

export interface FakeAccessPoint {
  AccessPointId: string;
  FileSystemId: string;
  PosixUser?: { Uid: number; Gid: number };
  RootDirectory?: {
    Path?: string;
    CreationInfo?: { OwnerUid: number; OwnerGid: number; Permissions: string };
  };
}

export interface RunRequest {
  taskId: string;
  def: FakeTaskDefinition;
  env: Record<string, string>;
  command?: string[] | undefined;
  accessPoint(id: string): FakeAccessPoint | undefined;
}

/** The container's HostConfig and Config, from the task definition and the run's overrides. */
export async function containerFor(
  req: RunRequest,
  opts: { prefix: string; efsRoot: string; label: string },
): Promise<Docker.ContainerCreateOptions> {
  const c = req.def.containerDefinitions[0];
  if (!c) throw new Error('task definition has no container');
  const mounts: Docker.MountSettings[] = [];
  for (const mp of c.mountPoints ?? []) {
    const volume = req.def.volumes?.find((v) => v.name === mp.sourceVolume);
    if (!volume) throw new Error(`CannotCreateVolumeError: no volume ${mp.sourceVolume}`);
    const efs = volume.efsVolumeConfiguration;
    if (!efs) {
      mounts.push({
        Type: 'tmpfs',
        Source: '',
        Target: mp.containerPath,
        TmpfsOptions: { SizeBytes: 512 * MiB, Mode: 0o1777 },
      });
      continue;
    }
    const apId = efs.authorizationConfig?.accessPointId;
    const ap = apId ? req.accessPoint(apId) : undefined;
    if (!ap || ap.FileSystemId !== efs.fileSystemId) {
      throw new Error(`ResourceInitializationError: failed to mount EFS access point ${apId}: not found`);
    }
    const dir = join(opts.efsRoot, ap.FileSystemId, ap.RootDirectory?.Path ?? '/');
    if (!(await stat(dir).catch(() => undefined))) {
      const info = ap.RootDirectory?.CreationInfo;
      if (!info)
        throw new Error(`ResourceInitializationError: access point ${apId} root directory does not exist`);
      await mkdir(dir, { recursive: true });
      await chown(dir, info.OwnerUid, info.OwnerGid);
      await chmod(dir, Number.parseInt(info.Permissions, 8));
    }
    mounts.push({ Type: 'bind', Source: dir, Target: mp.containerPath, ReadOnly: mp.readOnly ?? false });
  }
  const taskCpu = Number(req.def.cpu ?? 0) / 1024 || (c.cpu ?? 1024) / 1024;
  const memoryMiB = c.memory ?? Number(req.def.memory ?? 0);
  const env = { ...Object.fromEntries((c.environment ?? []).map((e) => [e.name, e.value])), ...req.env };
  const lp = c.linuxParameters ?? {};
  const nproc = c.ulimits?.find((u) => u.name === 'nproc');
  const command = req.command ?? c.command;
  return {
    name: `${opts.prefix}-${req.taskId}`,
    Image: c.image,
    ...(command ? { Cmd: command } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(c.user ? { User: c.user } : {}),
    ...(c.workingDirectory ? { WorkingDir: c.workingDirectory } : {}),
    Labels: { [opts.label]: req.taskId },
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: c.readonlyRootFilesystem === true,
      Privileged: c.privileged === true,
      ...(lp.capabilities?.drop ? { CapDrop: lp.capabilities.drop } : {}),
      ...(lp.capabilities?.add ? { CapAdd: lp.capabilities.add } : {}),
      Init: lp.initProcessEnabled === true,
      ...(c.dockerSecurityOptions ? { SecurityOpt: c.dockerSecurityOptions } : {}),
      ...(memoryMiB > 0 ? { Memory: memoryMiB * MiB } : {}),
      ...(memoryMiB > 0 && lp.maxSwap === 0 ? { MemorySwap: memoryMiB * MiB } : {}),
      NanoCpus: Math.round(Math.min(taskCpu, availableParallelism()) * 1e9),
      // A Fargate task has a kernel of its own, so its nproc ulimit counts its own processes: the
      // container's pids limit is what models that here (a plain nproc ulimit would count every
      // process of the uid on this machine).
      ...(nproc ? { PidsLimit: nproc.hardLimit } : {}),
      Mounts: mounts,
    },
  };
}

/** One task's container: created, started, given its "ENI", waited for. */
export class FakeTaskContainer {
  private container: Docker.Container | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly network: FakeEcsNetwork | undefined,
  ) {}

  /** Starts it; resolves with its address once it runs. @throws on a create or start Docker refuses. */
  async start(options: Docker.ContainerCreateOptions, taskId: string): Promise<string | undefined> {
    this.container = await this.docker.createContainer(options);
    await this.container.start();
    const info = await this.container.inspect();
    if (!this.network || !info.State.Running) return undefined;
    try {
      return await this.network.attach(taskId, info.State.Pid);
    } catch (err) {
      // A short command may have exited (its namespace gone) before its interface was moved in.
      if ((await this.container.inspect()).State.Running) throw err;
      return undefined;
    }
  }

  /** Resolves when the container exited: its exit code and whether the kernel killed it for memory. */
  async wait(): Promise<{ exitCode: number; oomKilled: boolean }> {
    const c = this.container;
    if (!c) return { exitCode: 1, oomKilled: false };
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const info = await c.inspect().catch(() => undefined);
    return { exitCode: StatusCode, oomKilled: info?.State.OOMKilled === true };
  }

  /** SIGTERM, SIGKILL after `seconds`. */
  async stop(seconds: number): Promise<void> {
    await this.container?.stop({ t: seconds }).catch(() => {});
  }

  async remove(): Promise<void> {
    await this.container?.remove({ force: true }).catch(() => {});
  }
}
