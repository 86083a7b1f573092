import type { V1NetworkPolicyPeer, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { NodeItem } from '../../../sdk/nodeWire.js';
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
import {
  apiFailure,
  isConflict,
  isNotFound,
  type KubeAccess,
  type KubeClients,
  kubeClients,
  withDeadline,
} from './kubeClient.js';
import { clusterNodes } from './kubernetesNodes.js';
import {
  ANNOTATION,
  boxRecord,
  LABEL,
  networkPolicyManifest,
  objectName,
  type PodSettings,
  podManifest,
  pvcManifest,
  secretManifest,
  WORKSPACE_ID_ANNOTATION,
} from './podSpec.js';
import { hasFinished, neverStarts, podState } from './podState.js';
import { Reflector } from './reflector.js';
import { WorkspacePods } from './workspacePods.js';

export interface KubernetesDriverConfig extends KubeAccess {
  /** The namespace every workspace object of this installation lives in (it must exist). */
  namespace: string;
  /** Names and labels this installation's objects, so several installations can share a namespace. */
  installation: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never' | undefined;
  /** The workspace user and group inside the pod (the image's is 1000). Default 1000. */
  uid?: number | undefined;
  /** StorageClass of the workspace PVCs; unset: the cluster's default class. */
  storageClass?: string | undefined;
  /** Size each workspace PVC requests, a Kubernetes quantity. Default "10Gi". */
  volumeSize?: string | undefined;
  /** Size limit of the /tmp emptyDir, a Kubernetes quantity. Default "512Mi". */
  tmpSize?: string | undefined;
  /** RuntimeClass of workspace pods (gVisor's "gvisor", Kata's "kata"); unset: the cluster's default. */
  runtimeClassName?: string | undefined;
  /** NetworkPolicy peers that are the control plane; empty: the agent URL's IP address. */
  controlPlane?: V1NetworkPolicyPeer[] | undefined;
  /** Each watch is asked to end after this many seconds; silence past it restarts it. Default 300. */
  watchTimeoutSeconds?: number | undefined;
  /** Grace past watchTimeoutSeconds before a silent watch is cut. Default 5000 ms. */
  watchGraceMs?: number | undefined;
  /** How long `start` waits for the pod's container to run (scheduling and the image pull). Default 300 000 ms. */
  podStartTimeoutMs?: number | undefined;
  /** Deadline of one API call and of waiting for a deletion to show. Default 30 000 ms. */
  callTimeoutMs?: number | undefined;
  /** How long `start` watches a new workspace pod for an agent that dies at once. Default 300 ms. */
  startWatchMs?: number | undefined;
  /**
   * The agent URL the server will put in specs, when the config already says it: preflight then
   * checks that a NetworkPolicy can let the pods reach it.
   */
  agentUrl?: string | undefined;
}

const DEFAULT_GRACE_SECONDS = 10;
/**
 * How long `start` watches a workspace pod once its container runs: an agent that dies at once (a
 * broken image, a bad setting) is then reported with its last log lines instead of leaving the
 * server waiting for it until the start timeout, as the docker driver does.
 */
const DEFAULT_START_WATCH_MS = 300;
const INSTALLATION_PATTERN = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;
const NAMESPACE_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Runs each workspace as a pod in one namespace of a Kubernetes cluster (DESIGN §6). Per
 * workspace: a PVC holding /workspace and the home (kept while the workspace exists, and through
 * `remove({ keepVolume })`), a Secret with the agent's environment, a NetworkPolicy allowing egress
 * only to the control plane, and a Pod while it runs (podSpec.ts has the whole profile). Kubernetes
 * has no stopped pod: `stop` deletes the pod, and a workspace whose Secret exists but has no pod is
 * stopped. The agent dials the control plane's network endpoint.
 *
 * `inspect` and `list` answer from watch-backed caches of the installation's pods and Secrets
 * (reflector.ts), so the reconcile loop costs the API server nothing per workspace; a pod that can
 * never start (ErrImagePull, Unschedulable, CrashLoopBackOff) is reported stopped with Kubernetes'
 * reason at once, and `start` fails with it as soon as the kubelet or scheduler says so. Placement
 * is the cluster scheduler's: requests equal limits, so a pod only lands where it fits.
 *
 * Several control-plane replicas each keep their own caches and per-workspace locks: the shared
 * state is the API server's objects (which every replica watches), and the server runs one start
 * of a workspace at a time across replicas (WorkspaceService's `workspace-start/<id>` hold).
 */
export class KubernetesDriver implements RuntimeDriver, NodeReporter {
  readonly kind = 'kubernetes' as const;
  readonly agentTransport = 'network' as const;
  private readonly settings: PodSettings;
  private readonly clients: KubeClients;
  private readonly pods: Reflector<V1Pod>;
  private readonly secrets: Reflector<V1Secret>;
  private readonly locks = new KeyedLock();
  private readonly callTimeoutMs: number;
  private readonly workspacePods: WorkspacePods;
  private readonly agentUrl: string | undefined;
  private started: Promise<void> | undefined;

  constructor(config: KubernetesDriverConfig) {
    if (!INSTALLATION_PATTERN.test(config.installation)) {
      throw new Error(
        'KubernetesDriverConfig.installation must be 1 to 20 of a-z, 0-9 and "-", not starting or ending with "-".',
      );
    }
    if (!NAMESPACE_PATTERN.test(config.namespace)) {
      throw new Error('KubernetesDriverConfig.namespace must be a DNS label (1 to 63 of a-z, 0-9 and "-").');
    }
    if (!config.image) throw new Error('KubernetesDriverConfig.image must name the workspace image.');
    const uid = config.uid ?? 1000;
    if (!Number.isInteger(uid) || uid < 1)
      throw new Error('KubernetesDriverConfig.uid must be a non-root uid (1 or more).');
    this.settings = {
      installation: config.installation,
      namespace: config.namespace,
      image: config.image,
      imagePullPolicy: config.imagePullPolicy ?? 'IfNotPresent',
      uid,
      storageClass: config.storageClass,
      volumeSize: config.volumeSize ?? '10Gi',
      tmpSize: config.tmpSize ?? '512Mi',
      runtimeClassName: config.runtimeClassName,
      controlPlane: config.controlPlane ?? [],
    };
    this.callTimeoutMs = config.callTimeoutMs ?? 30_000;
    this.agentUrl = config.agentUrl;
    this.clients = kubeClients(config);
    const ns = config.namespace;
    const labelSelector = `${LABEL.installation}=${config.installation}`;
    const watch = {
      kubeConfig: this.clients.config,
      labelSelector,
      watchTimeoutSeconds: config.watchTimeoutSeconds ?? 300,
      graceMs: config.watchGraceMs ?? 5000,
    };
    this.pods = new Reflector<V1Pod>({
      ...watch,
      path: `/api/v1/namespaces/${ns}/pods`,
      list: () => this.clients.core.listNamespacedPod({ namespace: ns, labelSelector }),
    });
    this.secrets = new Reflector<V1Secret>({
      ...watch,
      path: `/api/v1/namespaces/${ns}/secrets`,
      list: () => this.clients.core.listNamespacedSecret({ namespace: ns, labelSelector }),
    });
    this.workspacePods = new WorkspacePods({
      core: this.clients.core,
      namespace: ns,
      pods: this.pods,
      callTimeoutMs: this.callTimeoutMs,
      podStartTimeoutMs: config.podStartTimeoutMs ?? 300_000,
      startWatchMs: config.startWatchMs ?? DEFAULT_START_WATCH_MS,
    });
  }

  /** The watch caches' counters (lists, watches, silent restarts, 410 relists), for tests and figures. */
  cacheStats(): { pods: Reflector<V1Pod>['stats']; secrets: Reflector<V1Secret>['stats'] } {
    return { pods: this.pods.stats, secrets: this.secrets.stats };
  }

  /**
   * Checks that the NetworkPolicy can let the pods reach the configured agent URL, and that the
   * API answers and this service account may list the namespace's pods and Secrets, by filling
   * the caches.
   * @throws DriverError `invalid_spec` naming runtime.kubernetes.controlPlane; `unavailable`
   * naming the namespace and the API's message.
   */
  async preflight(): Promise<void> {
    if (this.agentUrl) networkPolicyManifest(this.settings, 'preflight', this.agentUrl);
    await this.ready();
  }

  /**
   * Creates (or updates) the PVC, the Secret and the NetworkPolicy; no pod yet, so the workspace
   * is stopped. Idempotent by workspace id. A changed spec (a new agent token, new limits) replaces
   * the Secret and deletes a pod built from the old one.
   * @throws DriverError `invalid_spec` (bad values, or ones the API refuses), `unavailable`,
   * `insufficient_resources` (a ResourceQuota says no).
   */
  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    ensureValidSpec(spec, this.agentTransport);
    const s = this.settings;
    const netpol = networkPolicyManifest(s, spec.workspaceId, spec.env.RC_AGENT_URL as string);
    const id = spec.workspaceId;
    const name = objectName(s.installation, id);
    await this.ready();
    return this.locks.run(id, async () => {
      await this.ensurePvc(id);
      const secret = secretManifest(s, spec);
      const hash = secret.metadata?.annotations?.[ANNOTATION.spec];
      const had = this.secrets.get(name);
      if (had?.metadata?.annotations?.[ANNOTATION.spec] !== hash) {
        await this.call('Secret', () =>
          this.clients.core.createNamespacedSecret({ namespace: s.namespace, body: secret }).catch((err) => {
            if (!isConflict(err)) throw err;
            return this.clients.core.replaceNamespacedSecret({ namespace: s.namespace, name, body: secret });
          }),
        );
      }
      await this.call('NetworkPolicy', () =>
        this.clients.networking
          .createNamespacedNetworkPolicy({ namespace: s.namespace, body: netpol })
          .catch((err) => {
            if (!isConflict(err)) throw err;
            return this.clients.networking.replaceNamespacedNetworkPolicy({
              namespace: s.namespace,
              name,
              body: netpol,
            });
          }),
      );
      await this.secrets.waitFor(
        name,
        (o) => o?.metadata?.annotations?.[ANNOTATION.spec] === hash,
        this.callTimeoutMs,
      );
      const pod = this.pods.get(name);
      if (pod && pod.metadata?.annotations?.[ANNOTATION.spec] !== hash)
        await this.workspacePods.delete(name, DEFAULT_GRACE_SECONDS);
      return this.ref(id);
    });
  }

  /**
   * Creates the pod from the Secret and resolves once its container runs (or, for a
   * spec.command, has run). Idempotent: a pod that runs or is on its way is left alone; one that
   * ended or can never start is replaced.
   * @throws DriverError `not_found` (never created), `start_failed` with Kubernetes' reason
   * (ErrImagePull, Unschedulable, CrashLoopBackOff, …) as soon as it says so, or when the pod has
   * not run within the start timeout; `unavailable`.
   */
  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    const id = safeWorkspaceId(ref);
    const notFound = new DriverError({
      reason: 'not_found',
      userMessage: `Workspace ${ref.workspaceId} has no Kubernetes objects to start.`,
    });
    if (id === undefined) throw notFound;
    await this.ready();
    return this.locks.run(id, async () => {
      const name = objectName(this.settings.installation, id);
      const secret = this.secrets.get(name);
      const box = secret && boxRecord(secret);
      if (!secret || !box) throw notFound;
      const pod = this.pods.get(name);
      if (pod && !pod.metadata?.deletionTimestamp && !hasFinished(pod) && !neverStarts(pod)) {
        await this.workspacePods.waitRunning(name, pod.metadata?.uid);
        return this.ref(id);
      }
      if (pod) await this.workspacePods.delete(name, 0);
      const created = await this.call('Pod', () =>
        this.clients.core.createNamespacedPod({
          namespace: this.settings.namespace,
          body: podManifest(this.settings, secret, box),
        }),
      );
      await this.workspacePods.waitRunning(name, created.metadata?.uid);
      if (!box.command) await this.workspacePods.ensureStayedUp(name, created.metadata?.uid);
      return this.ref(id);
    });
  }

  /**
   * Deletes the pod with `graceSeconds` (the kubelet sends SIGTERM, then SIGKILL) and waits until
   * it is gone. Keeps the PVC, Secret and NetworkPolicy. Idempotent.
   * @throws DriverError `unavailable`.
   */
  async stop(ref: RuntimeRef, opts?: { graceSeconds?: number }): Promise<void> {
    const id = safeWorkspaceId(ref);
    if (id === undefined) return;
    await this.ready();
    await this.locks.run(id, () =>
      this.workspacePods.delete(
        objectName(this.settings.installation, id),
        opts?.graceSeconds ?? DEFAULT_GRACE_SECONDS,
      ),
    );
  }

  /**
   * Deletes the pod, the Secret, the NetworkPolicy and, unless `keepVolume`, the PVC. Idempotent.
   * @throws DriverError `unavailable`.
   */
  async remove(ref: RuntimeRef, opts?: { keepVolume?: boolean }): Promise<void> {
    const id = safeWorkspaceId(ref);
    if (id === undefined) return;
    await this.ready();
    const ns = this.settings.namespace;
    await this.locks.run(id, async () => {
      const name = objectName(this.settings.installation, id);
      await this.workspacePods.delete(name, DEFAULT_GRACE_SECONDS);
      const gone = (err: unknown) => {
        if (!isNotFound(err)) throw err;
      };
      await this.call('NetworkPolicy', () =>
        this.clients.networking.deleteNamespacedNetworkPolicy({ namespace: ns, name }).catch(gone),
      );
      if (!opts?.keepVolume) {
        await this.call('PersistentVolumeClaim', () =>
          this.clients.core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name }).catch(gone),
        );
      }
      await this.call('Secret', () =>
        this.clients.core.deleteNamespacedSecret({ namespace: ns, name }).catch(gone),
      );
      await this.secrets.waitFor(name, (o) => o === undefined, this.callTimeoutMs);
    });
  }

  /**
   * From the caches: missing (no Secret), stopped (no pod; or its container ended, with the exit
   * code; or it can never start, with Kubernetes' reason), or running (pending on its way, or
   * running). Before the caches have listed, or while a list fails, the objects are read directly.
   * @throws DriverError `unavailable` when the API does not answer then.
   */
  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    const id = safeWorkspaceId(ref);
    if (id === undefined) return { status: 'missing' };
    const name = objectName(this.settings.installation, id);
    let secret: V1Secret | undefined;
    let pod: V1Pod | undefined;
    if (this.started && this.pods.synced && this.secrets.synced) {
      secret = this.secrets.get(name);
      pod = this.pods.get(name);
    } else {
      const ns = this.settings.namespace;
      const orMissing = (err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      };
      secret = await this.call('Secret', () =>
        this.clients.core.readNamespacedSecret({ namespace: ns, name }).catch(orMissing),
      );
      pod = await this.call('Pod', () =>
        this.clients.core.readNamespacedPod({ namespace: ns, name }).catch(orMissing),
      );
      if (secret && secret.metadata?.labels?.[LABEL.installation] !== this.settings.installation)
        secret = undefined;
    }
    if (!secret) return { status: 'missing' };
    if (!pod) return { status: 'stopped' };
    return podState(pod);
  }

  /** Every workspace of this installation (each has a Secret while it exists), from the cache. */
  async list(): Promise<RuntimeRef[]> {
    await this.ready();
    return this.secrets
      .items()
      .map((s) => s.metadata?.annotations?.[WORKSPACE_ID_ANNOTATION])
      .filter((id): id is string => typeof id === 'string' && WORKSPACE_ID_PATTERN.test(id))
      .sort()
      .map((id) => this.ref(id));
  }

  /** The cluster's nodes, with what this installation's pods request on each. */
  async nodes(): Promise<NodeItem[]> {
    // A cluster that does not answer is reported by clusterNodes itself.
    await this.ready().catch(() => {});
    const pods = this.pods.synced ? this.pods.items() : [];
    return clusterNodes(this.clients.core, pods, Math.min(this.callTimeoutMs, 5000));
  }

  /** Ends the watches. The workspaces keep running. */
  async close(): Promise<void> {
    await Promise.all([this.pods.close(), this.secrets.close()]);
  }

  /** Fills the caches once (the first call starts the watches). */
  private ready(): Promise<void> {
    if (!this.started) {
      this.started = Promise.all([this.pods.start(), this.secrets.start()]).then(
        () => undefined,
        (err: unknown) => {
          // The next call tries again; a cache whose list succeeded keeps watching.
          this.started = undefined;
          throw new DriverError({
            reason: 'unavailable',
            userMessage: `The Kubernetes API does not let the control plane watch namespace ${this.settings.namespace}: ${apiFailure('pods', err).userMessage}`,
            cause: err,
          });
        },
      );
    }
    return this.started;
  }

  /** Creates the PVC unless it exists; one still being deleted is waited out first. */
  private async ensurePvc(id: string): Promise<void> {
    const ns = this.settings.namespace;
    const name = objectName(this.settings.installation, id);
    const deadline = Date.now() + this.callTimeoutMs;
    for (;;) {
      try {
        await withDeadline('PersistentVolumeClaim', this.callTimeoutMs, () =>
          this.clients.core.createNamespacedPersistentVolumeClaim({
            namespace: ns,
            body: pvcManifest(this.settings, id),
          }),
        );
        return;
      } catch (err) {
        if (!isConflict((err as DriverError).cause)) throw err;
      }
      const existing = await this.call('PersistentVolumeClaim', () =>
        this.clients.core
          .readNamespacedPersistentVolumeClaim({ namespace: ns, name })
          .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err))),
      );
      if (existing && !existing.metadata?.deletionTimestamp) return;
      if (Date.now() > deadline) {
        throw new DriverError({
          reason: 'unavailable',
          userMessage: `The workspace's old PersistentVolumeClaim ${name} is still being deleted.`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** One API call with the call deadline; failures become DriverErrors. */
  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(what, this.callTimeoutMs, fn);
  }

  private ref(workspaceId: string): RuntimeRef {
    return {
      kind: 'kubernetes',
      workspaceId,
      data: { namespace: this.settings.namespace, name: objectName(this.settings.installation, workspaceId) },
    };
  }
}
