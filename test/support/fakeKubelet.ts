// The fake API server's kubelet: runs each pod bound to the fake node as a container on the real
// local Docker engine, with the pod's securityContext and limits mapped onto the container as a
// kubelet's runtime would (user, read-only root, dropped capabilities, no-new-privileges, memory,
// CPU and the node's pod pids limit), its PVC as a named volume whose subPaths are bound in, its
// emptyDir as a tmpfs, and env from Secrets resolved. The container has NetworkMode none; a
// FakePodNetwork, when given, then moves a veth into it so the agent can dial the control plane.
// It reports phase and containerStatuses back as a kubelet does: ErrImagePull/ImagePullBackOff for
// an image the engine does not have (or one `failPulls` names), CrashLoopBackOff for a container
// that keeps exiting, Succeeded/Failed with the exit code for restartPolicy Never.
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import Docker from 'dockerode';
import { demuxLogs } from '../../server/drivers/docker/containerState.js';
import type { FakeKubernetes, PodRunner } from './fakeKubernetes.js';
import type { FakePodNetwork } from './fakePodNetwork.js';

export interface FakeKubeletOptions {
  api: FakeKubernetes;
  docker?: Docker;
  /** Prefix of this kubelet's container and volume names, so tests can clean up after themselves. */
  prefix: string;
  /** The node's podPidsLimit (a kubelet setting, not a pod field). */
  podPidsLimit?: number;
  network?: FakePodNetwork;
}

interface Running {
  pod: V1Pod;
  container?: Docker.Container;
  restarts: number;
  stopping: boolean;
}

export class FakeKubelet implements PodRunner {
  /** Images whose pull fails with this message. */
  failPulls = new Map<string, string>();
  private readonly docker: Docker;
  private readonly running = new Map<string, Running>();

  constructor(private readonly o: FakeKubeletOptions) {
    this.docker = o.docker ?? new Docker({ socketPath: '/var/run/docker.sock' });
    o.api.runner = this;
  }

  run(pod: V1Pod): void {
    const key = podKey(pod);
    const entry: Running = { pod, restarts: 0, stopping: false };
    this.running.set(key, entry);
    this.launch(entry).catch((err: unknown) => this.report(entry, waiting('RunContainerError', String(err))));
  }

  stop(pod: V1Pod, graceSeconds: number): void {
    const entry = this.running.get(podKey(pod));
    const { namespace, name } = pod.metadata as { namespace: string; name: string };
    if (!entry) {
      this.o.api.finalizePod(namespace, name);
      return;
    }
    entry.stopping = true;
    void (async () => {
      await entry.container?.stop({ t: graceSeconds }).catch(() => {});
      await entry.container?.remove({ force: true }).catch(() => {});
      this.running.delete(podKey(pod));
      this.o.api.finalizePod(namespace, name);
    })();
  }

  async logs(pod: V1Pod, tail: number): Promise<string> {
    const container = this.running.get(podKey(pod))?.container;
    if (!container) return '';
    const raw = await container.logs({ stdout: true, stderr: true, tail, follow: false });
    return demuxLogs(Buffer.from(raw));
  }

  /** Removes every container and volume this kubelet made (the end of a test file). */
  async removeAll(): Promise<void> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`fake-kubelet=${this.o.prefix}`] },
    });
    for (const c of containers)
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    const { Volumes } = await this.docker.listVolumes({
      filters: { label: [`fake-kubelet=${this.o.prefix}`] },
    });
    for (const v of Volumes ?? [])
      await this.docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {});
  }

  private async launch(entry: Running): Promise<void> {
    const pod = entry.pod;
    const c = pod.spec?.containers[0] as V1Container;
    const image = c.image as string;
    const failed = this.failPulls.get(image);
    const present =
      failed === undefined &&
      (await this.docker
        .getImage(image)
        .inspect()
        .then(
          () => true,
          () => false,
        ));
    if (!present) {
      const why =
        failed ?? `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`;
      this.report(entry, waiting('ErrImagePull', why));
      setTimeout(() => {
        if (!entry.stopping)
          this.report(entry, waiting('ImagePullBackOff', `Back-off pulling image "${image}"`));
      }, 200).unref();
      return;
    }
    const env = await this.env(pod, c);
    if (typeof env === 'string') {
      this.report(entry, waiting('CreateContainerConfigError', env));
      return;
    }
    const sc = { ...pod.spec?.securityContext, ...c.securityContext };
    if (sc.runAsNonRoot && !sc.runAsUser) {
      this.report(
        entry,
        waiting('CreateContainerConfigError', 'container has runAsNonRoot and image will run as root'),
      );
      return;
    }
    const mounts = await this.mounts(
      pod,
      c,
      sc.runAsUser ?? 0,
      pod.spec?.securityContext?.fsGroup ?? sc.runAsGroup ?? 0,
    );
    const limits = c.resources?.limits ?? {};
    const container = await this.docker.createContainer({
      name: `${this.o.prefix}-${pod.metadata?.name}-${(pod.metadata?.uid ?? '').slice(0, 8)}`,
      Image: image,
      ...(c.command ? { Entrypoint: c.command, Cmd: c.args ?? [] } : {}),
      Env: env,
      User: `${sc.runAsUser ?? 0}:${sc.runAsGroup ?? 0}`,
      WorkingDir: c.workingDir,
      Hostname: pod.spec?.hostname ?? pod.metadata?.name,
      Labels: { 'fake-kubelet': this.o.prefix, 'fake-kubelet.pod': podKey(pod) },
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: sc.readOnlyRootFilesystem === true,
        CapDrop: sc.capabilities?.drop ?? [],
        CapAdd: sc.capabilities?.add ?? [],
        Privileged: sc.privileged === true,
        SecurityOpt: [
          ...(sc.allowPrivilegeEscalation === false ? ['no-new-privileges'] : []),
          // RuntimeDefault is the engine's default profile; Unconfined would be seccomp=unconfined.
          ...(sc.seccompProfile?.type === 'Unconfined' ? ['seccomp=unconfined'] : []),
        ],
        Mounts: mounts.binds,
        Tmpfs: mounts.tmpfs,
        ...(limits.memory ? { Memory: quantity(limits.memory), MemorySwap: quantity(limits.memory) } : {}),
        ...(limits.cpu ? { NanoCpus: Math.round(quantity(limits.cpu) * 1e9) } : {}),
        ...(this.o.podPidsLimit ? { PidsLimit: this.o.podPidsLimit } : {}),
        Init: true,
      },
    });
    entry.container = container;
    await this.startContainer(entry);
  }

  private async startContainer(entry: Running): Promise<void> {
    const container = entry.container as Docker.Container;
    await container.start();
    if (entry.stopping) return;
    const info = await container.inspect();
    const podIP = this.o.network ? await this.o.network.attach(info.State.Pid, podKey(entry.pod)) : undefined;
    this.report(entry, {
      phase: 'Running',
      ...(podIP ? { podIP } : {}),
      containerStatuses: [
        {
          name: 'workspace',
          image: entry.pod.spec?.containers[0]?.image as string,
          imageID: info.Image,
          ready: true,
          restartCount: entry.restarts,
          state: { running: { startedAt: new Date(info.State.StartedAt) } },
        },
      ],
    });
    void this.watchExit(entry, info.State.StartedAt);
  }

  private async watchExit(entry: Running, startedAt: string): Promise<void> {
    const container = entry.container as Docker.Container;
    const result = (await container.wait().catch(() => undefined)) as { StatusCode: number } | undefined;
    if (entry.stopping || !result) return;
    const info = await container.inspect().catch(() => undefined);
    const terminated = {
      exitCode: result.StatusCode,
      reason: info?.State.OOMKilled ? 'OOMKilled' : result.StatusCode === 0 ? 'Completed' : 'Error',
      startedAt: new Date(startedAt),
      finishedAt: new Date(info?.State.FinishedAt ?? Date.now()),
    };
    const base = {
      name: 'workspace',
      image: entry.pod.spec?.containers[0]?.image as string,
      imageID: info?.Image ?? '',
      ready: false,
    };
    if (
      entry.pod.spec?.restartPolicy === 'Never' ||
      (entry.pod.spec?.restartPolicy === 'OnFailure' && result.StatusCode === 0)
    ) {
      this.report(entry, {
        phase: result.StatusCode === 0 ? 'Succeeded' : 'Failed',
        containerStatuses: [{ ...base, restartCount: entry.restarts, state: { terminated } }],
      });
      return;
    }
    // restartPolicy Always: back off, then start it again, as the kubelet does.
    entry.restarts++;
    this.report(entry, {
      phase: 'Running',
      containerStatuses: [
        {
          ...base,
          restartCount: entry.restarts,
          lastState: { terminated },
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off restarting failed container workspace in pod ${entry.pod.metadata?.name}`,
            },
          },
        },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** (entry.restarts - 1), 10_000)));
    if (!entry.stopping) await this.startContainer(entry).catch(() => {});
  }

  /** The container's env: literal values, and Secret keys resolved; a sentence when one is missing. */
  private async env(pod: V1Pod, c: V1Container): Promise<string[] | string> {
    const out: string[] = [];
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) {
        out.push(`${e.name}=${e.value ?? ''}`);
        continue;
      }
      const secret = this.o.api.get('secrets', pod.metadata?.namespace as string, ref.name as string) as
        | { data?: Record<string, string> }
        | undefined;
      const value = secret?.data?.[ref.key];
      if (value === undefined) return `secret "${ref.name}" key "${ref.key}" not found`;
      out.push(`${e.name}=${Buffer.from(value, 'base64').toString('utf8')}`);
    }
    return out;
  }

  /**
   * A PVC is a named volume (made at first use); its subPaths are directories in it, bound in,
   * owned by the pod's user and fsGroup as a kubelet's fsGroup handling leaves them.
   */
  private async mounts(pod: V1Pod, c: V1Container, uid: number, gid: number) {
    const binds: Docker.MountSettings[] = [];
    const tmpfs: Record<string, string> = {};
    for (const m of c.volumeMounts ?? []) {
      const v = pod.spec?.volumes?.find((x) => x.name === m.name);
      if (v?.emptyDir) {
        tmpfs[m.mountPath] =
          `rw,nosuid,nodev,size=${v.emptyDir.sizeLimit ? quantity(String(v.emptyDir.sizeLimit)) : 64 * 2 ** 20}`;
        continue;
      }
      const claim = v?.persistentVolumeClaim?.claimName;
      if (!claim) continue;
      const volume = `${this.o.prefix}-${pod.metadata?.namespace}-${claim}-${this.pvcUid(pod, claim)}`;
      await this.docker.createVolume({ Name: volume, Labels: { 'fake-kubelet': this.o.prefix } });
      const { Mountpoint } = (await this.docker.getVolume(volume).inspect()) as { Mountpoint: string };
      const dir = m.subPath ? join(Mountpoint, m.subPath) : Mountpoint;
      await mkdir(dir, { recursive: true });
      await chown(dir, uid, gid);
      binds.push({ Type: 'bind', Source: dir, Target: m.mountPath, ReadOnly: m.readOnly === true });
    }
    return { binds, tmpfs };
  }

  /** A new PVC of the same name is a new volume: its uid names it. */
  private pvcUid(pod: V1Pod, claim: string): string {
    const pvc = this.o.api.get('persistentvolumeclaims', pod.metadata?.namespace as string, claim);
    return (pvc?.metadata?.uid ?? 'unbound').slice(0, 8);
  }

  private report(entry: Running, status: V1PodStatus): void {
    if (entry.stopping) return;
    const { namespace, name } = entry.pod.metadata as { namespace: string; name: string };
    const now = this.o.api.get('pods', namespace, name) as V1Pod | undefined;
    if (!now || now.metadata?.uid !== entry.pod.metadata?.uid) return;
    this.o.api.setPodStatus(namespace, name, {
      ...status,
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      hostIP: '127.0.0.1',
    });
  }
}

function waiting(reason: string, message: string): V1PodStatus {
  return {
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'workspace',
        image: '',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason, message } },
      },
    ],
  };
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/** "500m" → 0.5, "1Gi" → 2^30, "268435456" → 268435456. */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const f: Record<string, number> = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (m[2] ? (f[m[2]] as number) : 1);
}
