// Reading a pod back: its state in the driver contract's words, and whether it can never start.
import type { V1Pod } from '@kubernetes/client-node';
import type { RuntimeState } from '../runtimeDriver.js';

/**
 * Container waiting reasons the kubelet reports for a pod that will not start by waiting longer:
 * the image cannot be had, the container cannot be made from the spec, or it keeps crashing.
 * (ContainerCreating and PodInitializing are the waits that do end.)
 */
const NEVER_STARTS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'CrashLoopBackOff',
]);

/**
 * Kubernetes' own reason why the pod cannot start, as a sentence, or undefined while it may still
 * start: a waiting container with one of the reasons above, or a PodScheduled condition that is
 * False because no node fits (Unschedulable) — the scheduler keeps retrying, but nothing the
 * workspace does changes the answer.
 */
export function neverStarts(pod: V1Pod): string | undefined {
  for (const c of pod.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && NEVER_STARTS.has(w.reason)) {
      return `Kubernetes cannot start the workspace pod: ${w.reason}${w.message ? ` (${w.message})` : ''}.`;
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return `Kubernetes cannot place the workspace pod: Unschedulable${scheduled.message ? ` (${scheduled.message})` : ''}.`;
  }
  return undefined;
}

/**
 * running while the pod is pending (scheduled, pulling, creating) or running, unless it can never
 * start; stopped with the exit code once its container has terminated (a command run, or a
 * workspace pod that failed); stopped with Kubernetes' reason for a pod that can never start. A
 * pod being deleted counts as stopped: `stop` deleted it.
 */
export function podState(pod: V1Pod): RuntimeState {
  if (pod.metadata?.deletionTimestamp) return { status: 'stopped' };
  const never = neverStarts(pod);
  if (never) return { status: 'stopped', reason: never };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    if (!terminated)
      return { status: 'stopped', reason: pod.status?.message ?? `The pod ${phase.toLowerCase()}.` };
    const reason =
      terminated.reason === 'OOMKilled'
        ? 'killed: out of memory'
        : terminated.exitCode !== 0 && terminated.reason && terminated.reason !== 'Error'
          ? terminated.reason
          : undefined;
    return { status: 'stopped', exitCode: terminated.exitCode, ...(reason ? { reason } : {}) };
  }
  return { status: 'running' };
}

/** The pod's container runs (its main process is up), as `start` waits for. */
export function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && pod.status.containerStatuses?.[0]?.state?.running !== undefined;
}

/** The pod's container has run to its end (a command run). */
export function hasFinished(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}
