// What a workspace's ECS task looks like: its names and tags, the task definition (the DESIGN §6
// isolation profile as ECS expresses it) and the RunTask call. Pure functions, so the profile can
// be read (and tested) on one screen without an endpoint.
import { createHash } from 'node:crypto';
import type { RegisterTaskDefinitionCommandInput, RunTaskCommandInput, Tag } from '@aws-sdk/client-ecs';
import { WORKSPACE_DIR } from '../../../sdk/agentProtocol.js';
import { boxEnv } from '../local/bwrapArgs.js';
import { SANDBOX_HOME } from '../local/sandboxFiles.js';
import { DriverError, type WorkspaceSpec } from '../runtimeDriver.js';
import { type EcsDriverConfig, FARGATE_PROVIDERS } from './ecsDriverConfig.js';

/** Tag keys on task definitions, tasks and access points; `list()` and the EFS lookup read them. */
export const TAG = {
  installation: 'remote-claude.installation',
  workspace: 'remote-claude.workspace',
  /** On access points: `workspace` or `home`. */
  volume: 'remote-claude.volume',
  /** On task definitions: hash of the registered body, so `create` registers only on a change. */
  spec: 'remote-claude.spec',
} as const;

/** The image's workspace user (uid and gid 1000 own /workspace and /home/user). */
export const WORKSPACE_UID = 1000;
export const CONTAINER = 'workspace';
const MiB = 1024 * 1024;

export type VolumeRole = 'workspace' | 'home';
export const VOLUME_PATHS: Record<VolumeRole, string> = { workspace: WORKSPACE_DIR, home: SANDBOX_HOME };

/** `rc-<installation>_<workspace>`: installations have no "_", so the prefix `rc-<installation>_` is theirs alone. */
export function familyName(installation: string, workspaceId: string): string {
  return `${familyPrefix(installation)}${workspaceId}`;
}
export function familyPrefix(installation: string): string {
  return `rc-${installation}_`;
}
/** RunTask's startedBy: ListTasks finds every task of the installation by it. */
export function startedBy(installation: string): string {
  return `rc-${installation}`;
}

export function workspaceTags(installation: string, workspaceId: string): Tag[] {
  return [
    { key: TAG.installation, value: installation },
    { key: TAG.workspace, value: workspaceId },
  ];
}

/** Where a workspace's files live on the file system; an access point is rooted there. */
export function accessPointPath(installation: string, workspaceId: string, role: VolumeRole): string {
  return `/remote-claude/${installation}/${workspaceId}/${role}`;
}

export function isFargate(config: Pick<EcsDriverConfig, 'capacityProviders'>): boolean {
  return config.capacityProviders.every((p) => FARGATE_PROVIDERS.has(p.name));
}

/** Fargate's task sizes: CPU units and the memory (MiB) each allows. */
const FARGATE_SIZES: [number, number[]][] = [
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];
function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/**
 * The task size: on Fargate the smallest size it sells that holds the workspace's limits (the
 * container's own limits then hold it to exactly those); on EC2 the limits themselves, CPU at
 * least the 128 units ECS accepts for a task.
 * @throws DriverError `invalid_spec` for limits no task can have.
 */
export function taskSize(
  resources: WorkspaceSpec['resources'],
  fargate: boolean,
): { cpuUnits: number; memoryMiB: number } {
  const cpuUnits = Math.ceil(resources.cpu * 1024);
  const memoryMiB = Math.ceil(resources.memoryBytes / MiB);
  if (!fargate) {
    if (cpuUnits > 196_608) {
      throw new DriverError({
        reason: 'invalid_spec',
        userMessage:
          'The workspace spec is invalid: resources.cpu is above the 192 vCPU an ECS task may have.',
      });
    }
    return { cpuUnits: Math.max(128, cpuUnits), memoryMiB: Math.max(6, memoryMiB) };
  }
  for (const [cpu, memories] of FARGATE_SIZES) {
    if (cpu < cpuUnits) continue;
    const memory = memories.find((m) => m >= memoryMiB);
    if (memory !== undefined) return { cpuUnits: cpu, memoryMiB: memory };
  }
  throw new DriverError({
    reason: 'invalid_spec',
    userMessage:
      'The workspace spec is invalid: a Fargate task has at most 16 vCPU and 120 GiB; ask for less or use an EC2 capacity provider.',
  });
}

export interface AccessPoints {
  workspace: string;
  home: string;
}

/**
 * The task definition of one workspace. Only what does not change between starts is in it: the
 * agent token, RC_AGENT_URL and a contract command go in RunTask's overrides (`runTaskInput`),
 * so a start needs no new revision. The EFS access points are the workspace's own, which is why
 * each workspace has its family (RunTask cannot override volumes).
 *
 * The isolation profile: uid 1000 (never root), read-only root with only /workspace, the home and
 * /tmp writable, every capability dropped, not privileged, init as PID 1, no new privileges and
 * no swap (EC2; Fargate allows neither option and runs each task in its own microVM), CPU and
 * memory limits, awsvpc networking behind the configured security groups. The process count is
 * the `nproc` ulimit (a task definition has no pids limit): on Fargate, where each task has a
 * kernel of its own, that counts the workspace's processes alone; on EC2 it counts every process
 * of uid 1000 on the instance (docs/ecs.md).
 */
export function taskDefinitionInput(
  config: EcsDriverConfig,
  workspaceId: string,
  resources: WorkspaceSpec['resources'],
  accessPoints: AccessPoints,
): RegisterTaskDefinitionCommandInput {
  const fargate = isFargate(config);
  const size = taskSize(resources, fargate);
  const efs = (accessPointId: string) => ({
    fileSystemId: config.efsFileSystemId,
    rootDirectory: '/',
    transitEncryption: 'ENABLED' as const,
    authorizationConfig: { accessPointId, iam: 'ENABLED' as const },
  });
  // Variables that are the same in every start; the ones that change come with RunTask.
  const env = boxEnv({});
  const body: RegisterTaskDefinitionCommandInput = {
    family: familyName(config.installation, workspaceId),
    taskRoleArn: config.taskRoleArn,
    ...(config.executionRoleArn ? { executionRoleArn: config.executionRoleArn } : {}),
    networkMode: 'awsvpc',
    requiresCompatibilities: [fargate ? 'FARGATE' : 'EC2'],
    cpu: String(size.cpuUnits),
    memory: String(size.memoryMiB),
    containerDefinitions: [
      {
        name: CONTAINER,
        image: config.image,
        essential: true,
        user: `${WORKSPACE_UID}:${WORKSPACE_UID}`,
        readonlyRootFilesystem: true,
        // Fargate refuses the field (its tasks are never privileged); EC2 gets it said outright.
        ...(fargate ? {} : { privileged: false, dockerSecurityOptions: ['no-new-privileges'] }),
        linuxParameters: {
          initProcessEnabled: true,
          capabilities: { drop: ['ALL'] },
          ...(fargate ? {} : { maxSwap: 0 }),
        },
        cpu: Math.max(1, Math.ceil(resources.cpu * 1024)),
        memory: Math.max(6, Math.ceil(resources.memoryBytes / MiB)),
        ulimits: [{ name: 'nproc', softLimit: resources.pids, hardLimit: resources.pids }],
        workingDirectory: WORKSPACE_DIR,
        environment: Object.entries(env).map(([name, value]) => ({ name, value })),
        mountPoints: [
          { sourceVolume: 'workspace', containerPath: VOLUME_PATHS.workspace, readOnly: false },
          { sourceVolume: 'home', containerPath: VOLUME_PATHS.home, readOnly: false },
          { sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false },
        ],
        stopTimeout: config.stopTimeoutSeconds ?? 10,
        ...(config.logGroup
          ? {
              logConfiguration: {
                logDriver: 'awslogs',
                options: {
                  'awslogs-group': config.logGroup,
                  'awslogs-region': config.region,
                  'awslogs-stream-prefix': 'workspace',
                },
              },
            }
          : {}),
      },
    ],
    volumes: [
      { name: 'workspace', efsVolumeConfiguration: efs(accessPoints.workspace) },
      { name: 'home', efsVolumeConfiguration: efs(accessPoints.home) },
      // A task-scoped volume (no host path): the task's own scratch space, gone with it.
      { name: 'tmp' },
    ],
  };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
  body.tags = [...workspaceTags(config.installation, workspaceId), { key: TAG.spec, value: hash }];
  return body;
}

/** The hash `taskDefinitionInput` tagged its body with. */
export function specHash(input: RegisterTaskDefinitionCommandInput): string | undefined {
  return input.tags?.find((t) => t.key === TAG.spec)?.value;
}

/**
 * RunTask for one start of a workspace. The spec's environment — the agent token among it — goes
 * in `overrides.containerOverrides.environment`: ECS keeps it with the task, where anyone allowed
 * ecs:DescribeTasks on the cluster can read it while the task runs and for about an hour after it
 * stopped (docs/ecs.md says to grant DescribeTasks to the control plane only). The token is
 * worth little there: it is new on every start and the control plane accepts it only from the
 * workspace it was made for, while that workspace is starting or running. Secrets Manager would
 * keep it out of ECS entirely; that needs @aws-sdk/client-secrets-manager, which this build does
 * not ship.
 */
export function runTaskInput(
  config: EcsDriverConfig,
  taskDefinitionArn: string,
  workspaceId: string,
  run: { env: Record<string, string>; command?: string[] | undefined },
  /** The workspace's last task, if any: a start after it stopped is a new start, not a retry. */
  after: string | undefined,
): RunTaskCommandInput {
  return {
    cluster: config.cluster,
    taskDefinition: taskDefinitionArn,
    count: 1,
    startedBy: startedBy(config.installation),
    capacityProviderStrategy: config.capacityProviders.map((p) => ({
      capacityProvider: p.name,
      weight: p.weight ?? 1,
      base: p.base ?? 0,
    })),
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: config.subnets,
        securityGroups: config.securityGroups,
        assignPublicIp: config.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    },
    overrides: {
      containerOverrides: [
        {
          name: CONTAINER,
          environment: Object.entries(run.env).map(([name, value]) => ({ name, value })),
          ...(run.command ? { command: run.command } : {}),
        },
      ],
    },
    tags: workspaceTags(config.installation, workspaceId),
    // One task per start even when two replicas or a retried call ask at once.
    clientToken: createHash('sha256')
      .update(JSON.stringify([workspaceId, taskDefinitionArn, run, after ?? null]))
      .digest('hex')
      .slice(0, 64),
  };
}
