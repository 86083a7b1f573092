// Reading ECS back in the driver contract's words: a task's state and why it stopped, RunTask's
// failures and the API's errors, each as the sentence a user sees on the workspace.
import type { Failure, Task } from '@aws-sdk/client-ecs';
import { DriverError, type RuntimeState } from '../runtimeDriver.js';
import { CONTAINER } from './taskDefinition.js';

/** What StopTask is told when the platform stops a workspace; a stop with another reason was someone else's. */
export const PLATFORM_STOP_REASON = 'Stopped by Remote Claude';

/** A task that has not stopped yet holds the workspace: it is provisioning, starting or running. */
export function isLive(task: Task): boolean {
  return task.lastStatus !== 'STOPPED' && task.lastStatus !== 'DEPROVISIONING';
}

/** running while the task lives; else stopped, with the container's exit code and why. */
export function taskState(task: Task): RuntimeState {
  if (isLive(task)) return { status: 'running' };
  const container = task.containers?.find((c) => c.name === CONTAINER);
  const exitCode = container?.exitCode ?? undefined;
  const reason = stopReason(task);
  return {
    status: 'stopped',
    ...(exitCode === undefined || exitCode === null ? {} : { exitCode }),
    ...(reason ? { reason } : {}),
  };
}

/**
 * Why a task stopped, in a user's words; undefined for a command that exited 0 or a stop the
 * platform asked for. ECS's stopCode says who stopped it, stoppedReason and the container's
 * reason say why (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
 */
export function stopReason(task: Task): string | undefined {
  const container = task.containers?.find((c) => c.name === CONTAINER);
  const why = task.stoppedReason ?? '';
  const detail = container?.reason ?? '';
  if (/CannotPullContainerError/.test(`${why} ${detail}`)) {
    return `failed to start: ECS could not pull the workspace image (${trim(detail || why)}). Check runtime.ecs.image and that the execution role may pull it.`;
  }
  if (/OutOfMemory/i.test(detail)) return 'killed: out of memory';
  if (
    /ResourceInitializationError|CannotCreateVolumeError|CannotStartContainerError/.test(`${why} ${detail}`)
  ) {
    return `failed to start: ECS could not prepare the task (${trim(detail || why)}).`;
  }
  if (task.stopCode === 'SpotInterruption') {
    return 'stopped: AWS reclaimed the Spot capacity the workspace ran on; start it again.';
  }
  if (task.stopCode === 'TaskFailedToStart') return `failed to start: ${trim(why || detail)}`;
  if (/EC2 instance|Host EC2/i.test(why)) {
    return `stopped: the EC2 instance the workspace ran on went away (${trim(why)}).`;
  }
  const exitCode = container?.exitCode;
  if (task.stopCode === 'UserInitiated' || task.stopCode === 'ServiceSchedulerInitiated') {
    if (why === PLATFORM_STOP_REASON) return undefined;
    return `stopped outside the platform (ECS StopTask${why ? `: ${trim(why)}` : ''})`;
  }
  if (typeof exitCode === 'number') {
    if (exitCode === 0) return undefined;
    if (exitCode === 137) return 'killed by signal SIGKILL';
    if (exitCode > 128) return `killed by signal ${exitCode - 128}`;
    return `exit code ${exitCode}`;
  }
  return why ? trim(why) : undefined;
}

function trim(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/**
 * RunTask answered with failures instead of a task. Room (RESOURCE:*, Fargate capacity) is
 * `insufficient_resources`, which puts the workspace back to stopped to be started again once
 * there is room; anything else fails the start.
 */
export function runTaskFailure(failures: Failure[], cluster: string): DriverError {
  const f = failures[0] ?? {};
  const reason = f.reason ?? 'unknown';
  const detail = f.detail ? ` (${trim(f.detail)})` : '';
  const resource = /^RESOURCE:(\w+)/.exec(reason)?.[1];
  if (resource) {
    const what: Record<string, string> = {
      CPU: 'CPU',
      MEMORY: 'memory',
      ENI: 'network interfaces (awsvpc ENIs)',
      PORTS: 'ports',
    };
    return new DriverError({
      reason: 'insufficient_resources',
      userMessage: `No container instance in ECS cluster ${cluster} has enough ${what[resource] ?? resource.toLowerCase()} free for this workspace right now (${reason}); it starts once there is room.`,
    });
  }
  if (/capacity is unavailable/i.test(reason)) {
    return new DriverError({
      reason: 'insufficient_resources',
      userMessage: `AWS has no capacity for this workspace in cluster ${cluster} right now ("${trim(reason)}"); it starts once there is.`,
    });
  }
  return new DriverError({
    reason: 'start_failed',
    userMessage: `ECS refused to run the workspace's task: ${trim(reason)}${detail}.`,
  });
}

/** An error of the ECS or EFS API (or of reaching it), as a DriverError. */
export function apiError(err: unknown, what: string): DriverError {
  if (err instanceof DriverError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const message = trim(e?.message ?? String(err));
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(name)) {
    return new DriverError({
      reason: 'unavailable',
      userMessage: `AWS kept throttling the control plane's ${what} calls after several tries; try again in a minute.`,
      cause: err,
    });
  }
  if (
    name === 'AccessDeniedException' ||
    name === 'UnrecognizedClientException' ||
    e.$metadata?.httpStatusCode === 403
  ) {
    return new DriverError({
      reason: 'unavailable',
      userMessage: `AWS refused the control plane's ${what} call: ${message} (see deploy/ecs/control-plane-policy.json for the permissions it needs).`,
      cause: err,
    });
  }
  if (name === 'ClusterNotFoundException') {
    return new DriverError({
      reason: 'unavailable',
      userMessage: `The ECS cluster in runtime.ecs.cluster does not exist: ${message}`,
      cause: err,
    });
  }
  if (name === 'InvalidParameterException' || name === 'ClientException' || name === 'BadRequest') {
    return new DriverError({
      reason: 'invalid_spec',
      userMessage: `ECS refused the ${what} call: ${message}`,
      cause: err,
    });
  }
  if (name === 'AccessPointLimitExceeded') {
    return new DriverError({
      reason: 'insufficient_resources',
      userMessage: `The EFS file system has no room for more access points (${message}); delete unused workspaces.`,
      cause: err,
    });
  }
  return new DriverError({
    reason: 'unavailable',
    userMessage: `The ${what} call to AWS failed: ${name}: ${message}`,
    cause: err,
  });
}
