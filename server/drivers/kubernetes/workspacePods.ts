// The waits behind the driver's start and stop, on the pod cache: until a new pod's container
// runs (or Kubernetes says it never will), a short watch for an agent that dies at once, and a
// deletion seen through. Each failure is the sentence the workspace shows.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { DriverError } from '../runtimeDriver.js';
import { isNotFound, withDeadline } from './kubeClient.js';
import { hasFinished, isRunning, neverStarts } from './podState.js';
import type { Reflector } from './reflector.js';

export interface WorkspacePodsOptions {
  core: CoreV1Api;
  namespace: string;
  pods: Reflector<V1Pod>;
  callTimeoutMs: number;
  podStartTimeoutMs: number;
  startWatchMs: number;
}

export class WorkspacePods {
  constructor(private readonly o: WorkspacePodsOptions) {}

  /** Deletes the pod (a missing one is fine) and waits until the cache no longer has it. */
  async delete(name: string, graceSeconds: number): Promise<void> {
    const { core, namespace, pods, callTimeoutMs } = this.o;
    if (!pods.get(name)) return;
    await withDeadline('Pod', callTimeoutMs, () =>
      core
        .deleteNamespacedPod({ namespace, name, gracePeriodSeconds: graceSeconds })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        }),
    );
    await pods
      .waitFor(name, (p) => p === undefined, graceSeconds * 1000 + callTimeoutMs)
      .catch((err: unknown) => {
        throw new DriverError({
          reason: 'unavailable',
          userMessage: `The workspace pod ${name} was not deleted in time: ${(err as Error).message}.`,
        });
      });
  }

  /**
   * Waits on the pod cache until the container of pod `uid` runs or has run to its end.
   * @throws DriverError `start_failed` with Kubernetes' reason, at once, for a pod that can never
   * start; or when it has not run within the start timeout.
   */
  async waitRunning(name: string, uid: string | undefined): Promise<void> {
    const { pods, podStartTimeoutMs } = this.o;
    let pod: V1Pod | undefined;
    let seen = false;
    try {
      pod = await pods.waitFor(
        name,
        (p) => {
          // The watch may not have brought the new pod yet: until it has, "no pod" means nothing.
          if (!p || p.metadata?.uid !== uid) return seen;
          seen = true;
          return isRunning(p) || hasFinished(p) || neverStarts(p) !== undefined;
        },
        podStartTimeoutMs,
      );
      if (pod?.metadata?.uid !== uid) pod = undefined;
    } catch {
      const now = pods.get(name);
      throw new DriverError({
        reason: 'start_failed',
        userMessage: `The workspace pod did not start within ${Math.round(podStartTimeoutMs / 1000)} s (phase ${now?.status?.phase ?? 'unknown'}${now?.status?.reason ? `, ${now.status.reason}` : ''}).`,
      });
    }
    if (!pod) {
      throw new DriverError({
        reason: 'start_failed',
        userMessage: 'The workspace pod was deleted while it started.',
      });
    }
    const never = neverStarts(pod);
    if (never) throw new DriverError({ reason: 'start_failed', userMessage: never });
  }

  /**
   * Watches a just-started workspace pod for `startWatchMs`: one whose container stopped or was
   * restarted meanwhile is reported with Kubernetes' reason and its last log lines.
   * @throws DriverError `start_failed`.
   */
  async ensureStayedUp(name: string, uid: string | undefined): Promise<void> {
    const { core, namespace, pods, startWatchMs } = this.o;
    const crashed = (p: V1Pod | undefined) =>
      !p ||
      p.metadata?.uid !== uid ||
      !isRunning(p) ||
      (p.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0;
    const pod = await pods.waitFor(name, crashed, startWatchMs).catch(() => 'stayed up' as const);
    if (pod === 'stayed up') return;
    const status = pod?.status?.containerStatuses?.[0];
    const last = status?.lastState?.terminated ?? status?.state?.terminated;
    const why =
      (pod && neverStarts(pod)?.replace(/^Kubernetes cannot start the workspace pod: |\.$/g, '')) ??
      (last ? `exit code ${last.exitCode}` : 'the pod disappeared');
    const logs = await withDeadline('Pod', this.o.callTimeoutMs, () =>
      core.readNamespacedPodLog({ namespace, name, tailLines: 5, previous: (status?.restartCount ?? 0) > 0 }),
    )
      // Only decoration for an error already being reported.
      .catch(() => '');
    const text = String(logs).trim().split('\n').slice(-5).join(' | ').slice(0, 800);
    throw new DriverError({
      reason: 'start_failed',
      userMessage: `The workspace pod stopped right after it started (${why})${text ? `: ${text}` : '.'}`,
    });
  }
}
