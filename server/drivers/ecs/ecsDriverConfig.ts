// The ecs driver's typed config and how it is read from the process config (`runtime.ecs`).
import type { Config } from '../../config/configSchema.js';
import { DriverError } from '../runtimeDriver.js';

export interface EcsCapacityProvider {
  name: string;
  weight?: number | undefined;
  base?: number | undefined;
}

export interface EcsDriverConfig {
  region: string;
  /** ECS and EFS API endpoint override (an emulator); unset: the regional endpoints. */
  endpoint?: string | undefined;
  /** Static credentials; unset: the AWS SDK's default provider chain. */
  credentials?:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }
    | undefined;
  cluster: string;
  /** RunTask's capacity provider strategy: all Fargate (FARGATE, FARGATE_SPOT) or all EC2. */
  capacityProviders: EcsCapacityProvider[];
  subnets: string[];
  securityGroups: string[];
  assignPublicIp?: boolean | undefined;
  image: string;
  taskRoleArn: string;
  executionRoleArn?: string | undefined;
  efsFileSystemId: string;
  /** CloudWatch Logs group (awslogs); unset: no log configuration. */
  logGroup?: string | undefined;
  /** Names and tags everything the driver makes in the account. 1-40 of a-z, 0-9, "-". */
  installation: string;
  /** The container's stopTimeout: SIGTERM to SIGKILL on StopTask (ECS caps it at 120 s). Default 10. */
  stopTimeoutSeconds?: number | undefined;
  /** Deadline of one API call. Default 30 000 ms. */
  callTimeoutMs?: number | undefined;
  /** Tries of a throttled or failed call (the SDK's standard retry backs off). Default 6. */
  maxAttempts?: number | undefined;
  /** How long `start` waits for RUNNING. Default 300 000 ms. */
  taskStartTimeoutMs?: number | undefined;
  /** How often the driver polls a task it waits for. Default 1000 ms. */
  pollMs?: number | undefined;
}

/** The capacity providers that make a task a Fargate task. */
export const FARGATE_PROVIDERS = new Set(['FARGATE', 'FARGATE_SPOT']);

/**
 * The ecs driver's part of the process config. Only called when runtime.driver is ecs.
 * @throws DriverError `unavailable` naming the first missing or contradictory key.
 */
export function ecsDriverConfig(config: Config): EcsDriverConfig {
  const e = config.runtime.ecs;
  const refuse = (sentence: string): never => {
    throw new DriverError({ reason: 'unavailable', userMessage: sentence });
  };
  if (e.s3Snapshots) {
    refuse(
      'runtime.ecs.s3Snapshots is not built yet: workspace files on ECS live on EFS. Remove it and set runtime.ecs.efsFileSystemId.',
    );
  }
  const need = <T>(value: T | undefined, key: string): T =>
    value === undefined || (Array.isArray(value) && value.length === 0)
      ? refuse(`runtime.ecs.${key} must be set when runtime.driver is ecs (docs/ecs.md).`)
      : value;
  const providers = need(e.capacityProviders, 'capacityProviders');
  const fargate = providers.filter((p) => FARGATE_PROVIDERS.has(p.name)).length;
  if (fargate !== 0 && fargate !== providers.length) {
    refuse(
      'runtime.ecs.capacityProviders mixes Fargate and EC2 providers, which ECS refuses in one strategy: use FARGATE/FARGATE_SPOT or Auto Scaling group providers.',
    );
  }
  return {
    region: need(e.region, 'region'),
    endpoint: e.endpoint,
    credentials: e.credentials,
    cluster: need(e.cluster, 'cluster'),
    capacityProviders: providers,
    subnets: need(e.subnets, 'subnets'),
    securityGroups: need(e.securityGroups, 'securityGroups'),
    assignPublicIp: e.assignPublicIp,
    image: need(e.image, 'image'),
    taskRoleArn: need(e.taskRoleArn, 'taskRoleArn'),
    executionRoleArn: e.executionRoleArn,
    efsFileSystemId: need(e.efsFileSystemId, 'efsFileSystemId'),
    logGroup: e.logGroup,
    installation: e.installation,
    stopTimeoutSeconds: Math.min(120, Math.max(2, config.workspaces.stopGrace)),
    callTimeoutMs: e.callTimeout * 1000,
    maxAttempts: e.maxAttempts,
    taskStartTimeoutMs: e.taskStartTimeout * 1000,
  };
}
