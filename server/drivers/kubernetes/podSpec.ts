// What a workspace is made of on Kubernetes: a PersistentVolumeClaim (its /workspace and home, as
// two subPaths), a Secret (the agent's environment: its token never appears in the pod spec), a
// NetworkPolicy (egress only to the control plane) and, while it runs, a Pod with the DESIGN §6
// isolation profile as Kubernetes expresses it. Pure functions, so the whole profile can be read
// (and tested) on one screen without a cluster.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type {
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import { WORKSPACE_DIR } from '../../../sdk/agentProtocol.js';
import { boxEnv } from '../local/bwrapArgs.js';
import { SANDBOX_HOME, SANDBOX_HOSTNAME } from '../local/sandboxFiles.js';
import { DriverError, type WorkspaceSpec } from '../runtimeDriver.js';

/** Labels on every object the driver makes; the watches and `list()` select on the installation. */
export const LABEL = {
  installation: 'remote-claude.io/installation',
  workspace: 'remote-claude.io/workspace',
  /** `agent` for a workspace (restarted by the kubelet), `command` for a spec.command run. */
  role: 'remote-claude.io/role',
} as const;

export const ANNOTATION = {
  /** Hash of what the pod is built from: `create` replaces a pod only when it changed. */
  spec: 'remote-claude.io/spec',
  /** The spec's resources and command (not secret), which `start` builds the pod from. */
  box: 'remote-claude.io/box',
  /**
   * Most processes the workspace may run. A pod spec cannot say it: the kubelet's podPidsLimit
   * (--pod-max-pids) applies to every pod of a node, so the cluster must set it (docs/kubernetes.md).
   */
  pids: 'remote-claude.io/pids',
} as const;

/** What the driver's config says about every workspace's objects. */
export interface PodSettings {
  installation: string;
  namespace: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** The workspace user and group (the image's user is 1000); also the volume's fsGroup. */
  uid: number;
  storageClass?: string | undefined;
  /** The PVC's request, a Kubernetes quantity ("10Gi"). */
  volumeSize: string;
  /** The /tmp emptyDir's size limit, a Kubernetes quantity. */
  tmpSize: string;
  runtimeClassName?: string | undefined;
  /** NetworkPolicy egress peers of the control plane; empty: the agent URL's IP address. */
  controlPlane: V1NetworkPolicyPeer[];
}

/** What `start` needs besides the Secret: stored on the Secret as an annotation. */
export interface BoxRecord {
  resources: WorkspaceSpec['resources'];
  command?: string[] | undefined;
}

/** `rc-<installation>-<id>`; ids outside Kubernetes' name alphabet get a hash so they stay unique. */
export function objectName(installation: string, workspaceId: string): string {
  const slug = workspaceId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const base = `rc-${installation}-`;
  if (slug === workspaceId && base.length + slug.length <= 63 && /[a-z0-9]$/.test(slug)) return base + slug;
  const hash = createHash('sha256').update(workspaceId).digest('hex').slice(0, 10);
  return `${base}${slug.slice(0, 63 - base.length - 11)}-${hash}`.replace(/-+/g, '-');
}

/** A label value must be 63 of [A-Za-z0-9_.-], alphanumeric at both ends; else a hash stands in. */
export function workspaceLabel(workspaceId: string): string {
  return /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(workspaceId)
    ? workspaceId
    : `h${createHash('sha256').update(workspaceId).digest('hex').slice(0, 40)}`;
}

export function labels(s: PodSettings, workspaceId: string): Record<string, string> {
  return { [LABEL.installation]: s.installation, [LABEL.workspace]: workspaceLabel(workspaceId) };
}

/** The exact workspace id, which a label may not hold. */
export const WORKSPACE_ID_ANNOTATION = 'remote-claude.io/workspace-id';

function metadata(s: PodSettings, workspaceId: string, extra: Record<string, string> = {}) {
  return {
    name: objectName(s.installation, workspaceId),
    namespace: s.namespace,
    labels: labels(s, workspaceId),
    annotations: { [WORKSPACE_ID_ANNOTATION]: workspaceId, ...extra },
  };
}

export function pvcManifest(s: PodSettings, workspaceId: string): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata(s, workspaceId),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: s.volumeSize } },
      ...(s.storageClass ? { storageClassName: s.storageClass } : {}),
    },
  };
}

/**
 * The agent's environment, every value of the spec's (its URL and token among them), and the
 * box record and spec hash `start` and `create` read back.
 */
export function secretManifest(s: PodSettings, spec: WorkspaceSpec): V1Secret {
  const box: BoxRecord = { resources: spec.resources, ...(spec.command ? { command: spec.command } : {}) };
  const m = metadata(s, spec.workspaceId, {
    [ANNOTATION.box]: JSON.stringify(box),
    [ANNOTATION.spec]: specHash(s, spec),
  });
  return { apiVersion: 'v1', kind: 'Secret', metadata: m, type: 'Opaque', stringData: { ...spec.env } };
}

function specHash(s: PodSettings, spec: WorkspaceSpec): string {
  return createHash('sha256')
    .update(JSON.stringify([s, spec.resources, spec.command ?? null, spec.env]))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Egress to the control plane only: the peers the config names, else the agent URL's address (an
 * IP literal), on the agent URL's port; plus DNS to the cluster's resolver when the URL names a
 * host. Model and package traffic goes over the agent's channel (DESIGN §5), so nothing else is
 * needed. No ingress at all: the agent dials out.
 * @throws DriverError `invalid_spec` when the URL names a host and no peer is configured (a
 * NetworkPolicy cannot select a host name).
 */
export function networkPolicyManifest(
  s: PodSettings,
  workspaceId: string,
  agentUrl: string,
): V1NetworkPolicy {
  const url = new URL(agentUrl);
  const port = Number(url.port) || (url.protocol === 'wss:' ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const ipVersion = isIP(host);
  let to = s.controlPlane;
  if (to.length === 0) {
    if (ipVersion === 0) {
      throw new DriverError({
        reason: 'invalid_spec',
        userMessage: `The agent URL's host ${host} is a name, which a NetworkPolicy cannot select: set runtime.kubernetes.controlPlane to the control plane's pod selector or CIDR.`,
      });
    }
    to = [{ ipBlock: { cidr: `${host}/${ipVersion === 4 ? 32 : 128}` } }];
  }
  const egress: NonNullable<NonNullable<V1NetworkPolicy['spec']>['egress']> = [
    { to, ports: [{ protocol: 'TCP', port }] },
  ];
  if (ipVersion === 0) {
    egress.push({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(s, workspaceId),
    spec: {
      podSelector: { matchLabels: labels(s, workspaceId) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress,
    },
  };
}

/** Kubernetes quantities: whole millicores and bytes. */
function cpuQuantity(cpu: number): string {
  return `${Math.max(1, Math.round(cpu * 1000))}m`;
}

/**
 * The pod of a workspace: its container runs as the workspace user with a read-only root, no
 * capabilities, no privilege escalation and the runtime's default seccomp profile; requests equal
 * limits (Guaranteed QoS, so placement reserves what the workspace may use); /workspace and the
 * home are the PVC's two subPaths, /tmp a size-limited emptyDir. The environment comes from the
 * Secret by key, so the token is never in the pod spec. The service account token is not mounted:
 * the agent never talks to the Kubernetes API.
 */
export function podManifest(s: PodSettings, secret: V1Secret, box: BoxRecord): V1Pod {
  const workspaceId = secret.metadata?.annotations?.[WORKSPACE_ID_ANNOTATION] as string;
  const name = objectName(s.installation, workspaceId);
  const specEnv = Object.keys(secret.data ?? secret.stringData ?? {});
  const platform = boxEnv({});
  const env = [
    ...specEnv
      .filter((k) => !(k in platform))
      .sort()
      .map((k) => ({ name: k, valueFrom: { secretKeyRef: { name, key: k } } })),
    ...Object.entries(platform).map(([k, v]) => ({ name: k, value: v })),
  ];
  const limits = { cpu: cpuQuantity(box.resources.cpu), memory: String(box.resources.memoryBytes) };
  const meta = metadata(s, workspaceId, {
    [ANNOTATION.spec]: secret.metadata?.annotations?.[ANNOTATION.spec] ?? '',
    [ANNOTATION.pids]: String(box.resources.pids),
  });
  meta.labels[LABEL.role] = box.command ? 'command' : 'agent';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta,
    spec: {
      hostname: SANDBOX_HOSTNAME,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // A workspace is a service the kubelet brings back after a crash; a command runs once.
      restartPolicy: box.command ? 'Never' : 'Always',
      ...(s.runtimeClassName ? { runtimeClassName: s.runtimeClassName } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: s.uid,
        runAsGroup: s.uid,
        fsGroup: s.uid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'workspace',
          image: s.image,
          imagePullPolicy: s.imagePullPolicy,
          ...(box.command ? { command: box.command } : {}),
          workingDir: WORKSPACE_DIR,
          env,
          resources: { requests: limits, limits },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: s.uid,
            runAsGroup: s.uid,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [
            { name: 'files', mountPath: WORKSPACE_DIR, subPath: 'workspace' },
            { name: 'files', mountPath: SANDBOX_HOME, subPath: 'home' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'files', persistentVolumeClaim: { claimName: name } },
        { name: 'tmp', emptyDir: { sizeLimit: s.tmpSize } },
      ],
    },
  };
}

/** The box record `secretManifest` stored, or undefined for a Secret not made by this driver. */
export function boxRecord(secret: V1Secret): BoxRecord | undefined {
  const raw = secret.metadata?.annotations?.[ANNOTATION.box];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as BoxRecord;
  } catch {
    return undefined;
  }
}
