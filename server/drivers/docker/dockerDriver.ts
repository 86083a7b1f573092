import { hostname } from 'node:os';
import type Docker from 'dockerode';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { type NodeState, type PlacementStrategy, place } from '../../scheduler/placement.js';
import { ensureValidSpec, WORKSPACE_ID_PATTERN } from '../ensureValidSpec.js';
import { isRelativeCgroupPath, prepareWorkspacesParent } from '../local/cgroups.js';
import { KeyedLock } from '../local/keyedLock.js';
import type { NodeReporter } from '../nodeReporter.js';
import {
  DriverError,
  type RuntimeDriver,
  type RuntimeRef,
  type RuntimeState,
  type UnixWorkspaceSpec,
  type WorkspaceSpec,
} from '../runtimeDriver.js';
import {
  type ContainerSettings,
  containerName,
  containerOptions,
  DOCKER_MIN_MEMORY_BYTES,
  LABEL,
  volumeNames,
} from './containerSpec.js';
import { runtimeState, runtimeUsage } from './containerState.js';
import { type DockerHost, DockerNode, type DockerNodeConfig } from './dockerNodes.js';
import type { RemoteNodes } from './remoteNode.js';
import { WorkspaceContainer } from './workspaceContainer.js';

export interface DockerDriverConfig {
  /** The workspace image on every node (see deploy/images/workspace and docs/workspaces.md). */
  image: string;
  /** Names and labels this installation's containers; several installations may share a daemon. */
  installation: string;
  /** OCI runtime for workspace containers (e.g. "runsc" for gVisor); unset: the daemon's default. */
  runtime?: string | undefined;
  /** HostConfig.UsernsMode for workspace containers; userns-remap itself is a daemon setting. */
  usernsMode?: string | undefined;
  /** Size of the tmpfs at /tmp, in Docker's notation. Default "512m". */
  tmpfsSize?: string | undefined;
  /** Docker's init (tini) as PID 1, reaping zombies. Default true. */
  init?: boolean | undefined;
  /** The Docker hosts, in placement's tie-break order. At least one. */
  nodes: DockerNodeConfig[];
  /** `pack` (default): fill the fullest node that has room first; `spread`: the emptiest. */
  strategy?: PlacementStrategy | undefined;
  /** Most workspaces on a node whose capacity sets no maxWorkspaces (pooling.maxTasksPerInstance); unset: no limit. */
  maxWorkspacesPerNode?: number | undefined;
  /** Deadline of one Docker API call (a stop adds its grace). Default 30 000 ms. */
  callTimeoutMs?: number | undefined;
  /**
   * Runs a placement (read the nodes' load, create the container) so that no other replica places
   * at the same time (cluster/clusterMutex.ts); default: this process only.
   */
  placementLock?: (<T>(section: () => Promise<T>) => Promise<T>) | undefined;
  /** How long `start` watches a new workspace container for an agent that dies at once. Default 300 ms. */
  startWatchMs?: number | undefined;
  /**
   * The cgroup (relative to the cgroup root) that holds every workspace container on a node of
   * this machine, as the local driver's boxes share one. Default "remote-claude".
   */
  cgroupParent?: string | undefined;
  /**
   * CPU cores of this machine kept from all workspace containers together (the parent cgroup's
   * cap is the host's CPUs minus this). Default 0: no cap, the parent's low weight only.
   */
  reservedCpu?: number | undefined;
  /** Where the cgroup file system is mounted on this machine. Default /sys/fs/cgroup. */
  cgroupRoot?: string | undefined;
  /** The links of nodes reached through their `rclaude node` daemon (`docker: {node}`). */
  remoteNodes?: RemoteNodes | undefined;
}

const DEFAULT_GRACE_SECONDS = 10;
/**
 * How long `start` watches a new workspace container: an agent that dies at once (a broken image,
 * a bad setting) is then reported with its log instead of being restarted in a loop until the
 * server gives up waiting for it. The server waits for the agent meanwhile, so this costs little.
 */
const DEFAULT_START_WATCH_MS = 300;
/** dockerode passes abortSignal on stats too; its type definitions do not say so. */
type StatsOptions = { stream?: false; 'one-shot'?: boolean };
const INSTALLATION_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,39}$/;
/** Serialises placement: a node's load is read and a container made there before the next look. */
const PLACEMENT_LOCK = '#placement';

interface Found {
  container: WorkspaceContainer;
  info: Docker.ContainerInspectInfo;
}

/**
 * Runs each workspace as a hardened container on one of several Docker hosts (nodes): one
 * container `rc-<installation>-<workspaceId>` with named volumes for /workspace and the home, no
 * network but the bound agent socket, a read-only root, no capabilities, uid 1000 and the spec's
 * limits (containerSpec.ts has the whole profile). The daemon owns the container, so it outlives
 * the control plane; a fresh DockerDriver finds it again by name and labels.
 *
 * A new workspace goes to a node with room for it in CPU, memory and workspace count, the
 * fullest first (`strategy: 'pack'`) or the emptiest (`'spread'`), never over capacity
 * (scheduler/placement.ts); a stopped one is checked again when it starts. Its
 * `RuntimeRef.node` pins it there, and so do its volumes after a `remove({ keepVolume })`.
 * Every Docker call has a deadline (dockerCall.ts). While a node does not answer, `list()` leaves
 * it out and calls about its workspaces fail with `unavailable`.
 */
export class DockerDriver implements RuntimeDriver, NodeReporter {
  readonly kind = 'docker' as const;
  /** Containers have no network (`NetworkMode: none`): the socket directory is bound in. */
  readonly agentTransport = 'unix' as const;
  private readonly nodeList: DockerNode[];
  private readonly settings: ContainerSettings;
  private readonly locks = new KeyedLock();
  private readonly callTimeoutMs: number;
  private readonly placementLock: <T>(section: () => Promise<T>) => Promise<T>;
  private readonly startWatchMs: number;
  private readonly cgroup: { parent: string; reservedCpu: number; root: string };
  private readonly strategy: PlacementStrategy;

  constructor(config: DockerDriverConfig) {
    if (!INSTALLATION_PATTERN.test(config.installation)) {
      throw new Error('DockerDriverConfig.installation must be 1 to 40 of a-z, 0-9, "_", "." or "-".');
    }
    if (!config.image) throw new Error('DockerDriverConfig.image must name the workspace image.');
    if (config.nodes.length === 0) throw new Error('DockerDriverConfig.nodes must list at least one node.');
    const names = config.nodes.map((n) => n.name);
    if (new Set(names).size !== names.length)
      throw new Error('DockerDriverConfig.nodes have duplicate names.');
    this.callTimeoutMs = config.callTimeoutMs ?? 30_000;
    this.placementLock = config.placementLock ?? ((section) => section());
    this.startWatchMs = config.startWatchMs ?? DEFAULT_START_WATCH_MS;
    const parent = config.cgroupParent ?? 'remote-claude';
    if (!isRelativeCgroupPath(parent))
      throw new Error('DockerDriverConfig.cgroupParent must be a relative cgroup path without "..".');
    this.cgroup = {
      parent,
      reservedCpu: config.reservedCpu ?? 0,
      root: config.cgroupRoot ?? '/sys/fs/cgroup',
    };
    this.strategy = config.strategy ?? 'pack';
    this.nodeList = config.nodes.map(
      (n) => new DockerNode(n, this.callTimeoutMs, config.remoteNodes, config.maxWorkspacesPerNode),
    );
    this.settings = {
      installation: config.installation,
      image: config.image,
      runtime: config.runtime,
      usernsMode: config.usernsMode,
      tmpfsSize: config.tmpfsSize ?? '512m',
      init: config.init ?? true,
    };
  }

  /**
   * Creates the volumes (labelled, kept across re-creates) and the container, stopped. Idempotent
   * by workspace id: an existing container whose options are unchanged is kept; a changed one
   * (a new agent token, new limits) is replaced on the same node — stopped first if it runs —
   * and keeps its volumes. A new workspace goes to the node that holds its kept volumes, else to
   * the one placement picks; the ref's `placement` says why.
   * @throws DriverError `invalid_spec` (bad values, or ones Docker refuses); `unavailable` (a
   * daemon does not answer, or the image is not on the node); `insufficient_resources` (no node
   * has room, or the node is out of disk).
   */
  async create(spec: WorkspaceSpec): Promise<RuntimeRef> {
    ensureValidSpec(spec, this.agentTransport);
    if (spec.resources.memoryBytes < DOCKER_MIN_MEMORY_BYTES) {
      throw new DriverError({
        reason: 'invalid_spec',
        userMessage:
          'The workspace spec is invalid: resources.memoryBytes must be at least 6 MiB for Docker.',
      });
    }
    const id = spec.workspaceId;
    return this.locks.run(id, async () => {
      // A workspace placed before is looked for on its node only (one that does not answer then
      // fails the call: its box may be there). A new one is looked for on every node that
      // answers, so a node that is down does not stop new workspaces elsewhere.
      const placedOn = this.nodeList.some((n) => n.name === spec.node) ? spec.node : undefined;
      const found = await this.find(id, placedOn, { skipDown: placedOn === undefined });
      if (found) {
        const { container } = found;
        const node = container.node;
        const want = containerOptions(
          await this.onNode(node, spec),
          this.settings,
          (await node.host()).cpu,
          await this.cgroupParent(node),
        );
        if (found.info.Config.Labels?.[LABEL.spec] !== want.Labels?.[LABEL.spec]) {
          await container.remove(DEFAULT_GRACE_SECONDS);
          await container.create(want, this.settings.image);
        }
        return this.ref(id, container.node);
      }
      return this.locks.run(PLACEMENT_LOCK, () =>
        this.placementLock(async () => {
          const { node, explanation } = await this.place(spec);
          const options = containerOptions(
            await this.onNode(node, spec),
            this.settings,
            (await node.host()).cpu,
            await this.cgroupParent(node),
          );
          await this.container(node, id).create(options, this.settings.image);
          return { ...this.ref(id, node), placement: explanation };
        }),
      );
    });
  }

  /**
   * Refuses a reserve that cannot take effect on a node of this machine that answers: one that
   * leaves no core for workspaces, or a daemon on systemd's cgroup driver (its containers live in
   * slices systemd manages, where this driver writes no limits). Nodes that do not answer yet are
   * checked when a workspace is first placed there.
   */
  async preflight(): Promise<void> {
    for (const node of this.nodeList) {
      if (!node.local || this.cgroup.reservedCpu === 0) continue;
      const host = await node.hostDetails().catch(() => undefined);
      if (host && (await this.onThisMachine(node))) this.ensureReserveFits(node, host);
    }
  }

  /**
   * The CgroupParent for workspace containers on `node`: the parent cgroup every workspace on this
   * machine shares (weight and cap written first, as the local driver does for its boxes), so one
   * workspace's fork bomb or CPU hog leaves the control plane its reserved cores. Undefined where
   * the driver cannot write that cgroup: a daemon on another machine (the cgroups are there), or
   * one on systemd's cgroup driver. A node reached through its `rclaude node` daemon gets the
   * parent that daemon prepared on its host and reported (cli/node/nodeCgroup.ts), if its Docker
   * daemon is on cgroupfs; when the daemon prepared none, its report says why.
   */
  private async cgroupParent(node: DockerNode): Promise<string | undefined> {
    if (node.remote) {
      const host = await node.hostDetails();
      if (host.cgroupDriver !== 'cgroupfs') return undefined;
      const { report } = await node.remote.daemon();
      return report?.cgroupParent?.path ?? undefined;
    }
    if (!node.local) return undefined;
    const host = await node.hostDetails();
    if (!(await this.onThisMachine(node))) return undefined;
    this.ensureReserveFits(node, host);
    if (host.cgroupDriver !== 'cgroupfs') return undefined;
    const { parent, reservedCpu, root } = this.cgroup;
    await prepareWorkspacesParent(root, parent, reservedCpu > 0 ? host.cpu - reservedCpu : undefined);
    return `/${parent}`;
  }

  /**
   * The spec as `node` runs it: on a node reached through its `rclaude node` daemon the agent
   * socket directory is the one that daemon serves on its own host, not the control plane's.
   */
  private async onNode(node: DockerNode, spec: UnixWorkspaceSpec): Promise<UnixWorkspaceSpec> {
    if (!node.remote) return spec;
    return { ...spec, agentSocketDir: await node.remote.listen(spec.workspaceId) };
  }

  /** A daemon on a unix socket may still run elsewhere (Docker Desktop's VM): its name says. */
  private async onThisMachine(node: DockerNode): Promise<boolean> {
    return node.local && (await node.hostDetails()).hostname === hostname();
  }

  private ensureReserveFits(node: DockerNode, host: DockerHost): void {
    const { reservedCpu } = this.cgroup;
    if (reservedCpu === 0) return;
    if (reservedCpu >= host.cpu) {
      throw new DriverError({
        reason: 'invalid_spec',
        userMessage: `runtime.docker.reservedCpu (${reservedCpu}) must be below node ${node.name}'s ${host.cpu} CPUs.`,
      });
    }
    if (host.cgroupDriver !== 'cgroupfs') {
      throw new DriverError({
        reason: 'unavailable',
        userMessage:
          `runtime.docker.reservedCpu cannot take effect on node ${node.name}: its daemon uses the ` +
          `${host.cgroupDriver} cgroup driver. Run dockerd with --exec-opt native.cgroupdriver=cgroupfs, ` +
          'or set runtime.docker.reservedCpu: 0 and cap the workspaces with a systemd slice.',
      });
    }
  }

  /**
   * Starts the container and resolves once its process runs (or, for a spec.command, has run).
   * Idempotent. A workspace container that exits at once is stopped again (so its restart policy
   * does not loop) and reported with its last log lines.
   * @throws DriverError `not_found` (no container), `start_failed` (Docker could not start it,
   * e.g. its volume's files are gone, or the agent exited at once), `unavailable`.
   */
  async start(ref: RuntimeRef): Promise<RuntimeRef> {
    const id = this.idOf(ref);
    const notFound = new DriverError({
      reason: 'not_found',
      userMessage: `Workspace ${ref.workspaceId} has no container to start.`,
    });
    if (id === undefined) throw notFound;
    return this.locks.run(id, async () => {
      const found = await this.find(id, ref.node);
      if (!found) throw notFound;
      const { container, info } = found;
      // A node daemon restarted meanwhile listens again from its run dir; asking is cheap and idempotent.
      await container.node.remote?.listen(id);
      if (info.State.Running || info.State.Restarting) return this.ref(id, container.node);
      // Checked and started in one placement section, so the started container counts in the
      // next one's check and two starts cannot both take a node's last room.
      const started = await this.locks.run(PLACEMENT_LOCK, () =>
        this.placementLock(async () => {
          await this.ensureRoom(container.node, id, info);
          return container.start(notFound);
        }),
      );
      if (started && info.Config.Labels?.[LABEL.role] === 'agent') {
        await container.ensureStayedUp(this.startWatchMs);
      }
      return this.ref(id, container.node);
    });
  }

  /**
   * `docker stop`: SIGTERM, SIGKILL after `graceSeconds` (default 10). Keeps volumes. A stopped
   * container stays stopped across daemon restarts (its restart policy is unless-stopped).
   * Idempotent: a stopped or missing container resolves.
   * @throws DriverError `unavailable` when the node does not answer.
   */
  async stop(ref: RuntimeRef, opts?: { graceSeconds?: number }): Promise<void> {
    const id = this.idOf(ref);
    if (id === undefined) return;
    await this.locks.run(id, async () => {
      const found = await this.find(id, ref.node);
      await found?.container.stop(opts?.graceSeconds ?? DEFAULT_GRACE_SECONDS);
      await found?.container.node.remote?.unlisten(id);
    });
  }

  /**
   * Stops (with the default grace) and removes the container and, unless `keepVolume`, its two
   * volumes, wherever they are. Idempotent.
   * @throws DriverError `unavailable` when the ref's node does not answer (a ref without a node
   * skips nodes that do not answer).
   */
  async remove(ref: RuntimeRef, opts?: { keepVolume?: boolean }): Promise<void> {
    const id = this.idOf(ref);
    if (id === undefined) return;
    await this.locks.run(id, async () => {
      // A ref without a node is of a workspace never placed (one refused for want of room, say):
      // it is looked for on the nodes that answer, so a node that is down does not keep it from
      // being deleted, as placement did not give it that node either.
      const found = await this.find(id, ref.node, { skipDown: ref.node === undefined });
      await found?.container.remove(DEFAULT_GRACE_SECONDS);
      await found?.container.node.remote?.unlisten(id);
      if (opts?.keepVolume) return;
      if (found || ref.node) {
        await this.container(found?.container.node ?? this.node(ref.node as string), id).removeVolumes();
        return;
      }
      for (const node of this.nodeList) {
        await this.container(node, id)
          .removeVolumes()
          .catch((err: unknown) => {
            if (!(err instanceof DriverError && err.reason === 'unavailable')) throw err;
          });
      }
    });
  }

  /**
   * running (with memory, processes and CPU time from a one-shot stats sample), stopped (exit
   * code; "killed: out of memory" and the like), or missing.
   * @throws DriverError `unavailable` when the node that may hold it does not answer: that is
   * not the same as missing, and must not get a workspace marked failed.
   */
  async inspect(ref: RuntimeRef): Promise<RuntimeState> {
    const id = this.idOf(ref);
    if (id === undefined) return { status: 'missing' };
    if (ref.node !== undefined && !this.nodeList.some((n) => n.name === ref.node)) {
      return { status: 'missing', reason: `Docker node ${ref.node} is no longer configured.` };
    }
    const found = await this.find(id, ref.node);
    if (!found) return { status: 'missing' };
    const state = runtimeState(found.info);
    if (state.status !== 'running') return state;
    const name = found.container.name;
    const stats = await found.container.node
      .call(
        (d, abortSignal) =>
          d.getContainer(name).stats({ stream: false, 'one-shot': true, abortSignal } as StatsOptions),
        {
          ms: Math.min(this.callTimeoutMs, 5000),
        },
      )
      // Usage is optional in RuntimeState: a stats call that times out must not hide the state.
      .catch(() => undefined);
    return stats ? { ...state, usage: runtimeUsage(stats as Docker.ContainerStats) } : state;
  }

  /** Every container of this installation on every node that answers (one that does not is left out). */
  async list(): Promise<RuntimeRef[]> {
    const perNode = await Promise.all(
      this.nodeList.map(async (node) => {
        // A node that does not answer is left out (the reconciler then inspects its boxes one
        // by one, which reports them as unreachable, not missing).
        const boxes = await node.boxes(this.settings.installation).catch(() => []);
        return boxes
          .filter((b) => WORKSPACE_ID_PATTERN.test(b.workspaceId))
          .map((b) => this.ref(b.workspaceId, node));
      }),
    );
    return perNode.flat().sort((a, b) => a.workspaceId.localeCompare(b.workspaceId));
  }

  /** Each node's health, capacity and what this installation's workspaces reserve on it. */
  nodes(): Promise<NodeItem[]> {
    return Promise.all(this.nodeList.map((n) => n.report(this.settings.installation)));
  }

  /** Nothing to release: dockerode keeps no connection open between calls. */
  async close(): Promise<void> {}

  /**
   * The workspace's container: on `nodeName` when the ref names one, else on whichever node has
   * it. Undefined when no node has it.
   * @throws DriverError `unavailable` when a node that may hold it does not answer.
   */
  private async find(
    id: string,
    nodeName?: string,
    opts: { skipDown?: boolean } = {},
  ): Promise<Found | undefined> {
    const nodes = nodeName !== undefined ? [this.node(nodeName)] : this.nodeList;
    const results = await Promise.all(
      nodes.map(async (node) => {
        const container = this.container(node, id);
        try {
          const info = await container.inspect();
          return info ? { container, info } : undefined;
        } catch (err) {
          return { err };
        }
      }),
    );
    const hit = results.find((r): r is Found => r !== undefined && 'info' in r);
    if (hit) return hit;
    if (opts.skipDown) return undefined;
    const down = results.find((r) => r !== undefined && 'err' in r) as { err: unknown } | undefined;
    if (down) throw down.err;
    return undefined;
  }

  private container(node: DockerNode, id: string): WorkspaceContainer {
    return new WorkspaceContainer(node, this.settings.installation, id, this.callTimeoutMs);
  }

  private node(name: string): DockerNode {
    const node = this.nodeList.find((n) => n.name === name);
    if (!node) {
      throw new DriverError({
        reason: 'unavailable',
        userMessage: `Docker node ${name} is no longer configured; add it back to \`nodes\` to reach its workspaces.`,
      });
    }
    return node;
  }

  /**
   * The node for a new container and why (scheduler/placement.ts): the one holding its kept
   * volumes, else the one the strategy picks among those with room in every dimension. Cordoned
   * nodes and nodes that do not answer receive nothing. A node that does not answer is taken not
   * to hold the volumes: only a workspace deleted with keepVolume and created again while its
   * node is down would start afresh elsewhere (its old files come back with the node).
   * @throws DriverError `insufficient_resources` (or `unavailable` when no node answers) with
   * the placement's sentence naming each node's shortfall.
   */
  private async place(spec: WorkspaceSpec): Promise<{ node: DockerNode; explanation: string }> {
    const want = { cpu: spec.resources.cpu, memoryBytes: spec.resources.memoryBytes };
    const volume = volumeNames(this.settings.installation, spec.workspaceId).workspace;
    const [states, holders] = await Promise.all([
      Promise.all(this.nodeList.map((n) => n.state(this.settings.installation, spec.workspaceId))),
      Promise.all(
        this.nodeList.map((node) =>
          node
            .call((d, abortSignal) => d.getVolume(volume).inspect({ abortSignal }))
            .then(
              () => node,
              () => undefined,
            ),
        ),
      ),
    ]);
    const holder = holders.find((n) => n !== undefined);
    const candidates = holder ? states.filter((l) => l.name === holder.name) : states;
    const decision = place(candidates, want, {
      strategy: this.strategy,
      pinned: holder ? "which holds this workspace's files" : undefined,
    });
    if (!decision.node) {
      const down = candidates.filter((c) => c.error !== undefined);
      // One node, down: its own sentence says where and why.
      if (candidates.length === 1 && down[0]?.error instanceof DriverError) throw down[0].error;
      throw new DriverError({
        reason: down.length === candidates.length ? 'unavailable' : 'insufficient_resources',
        userMessage: decision.explanation,
      });
    }
    return { node: this.node(decision.node.name), explanation: decision.explanation };
  }

  /**
   * Refuses to start a stopped container on a node that no longer has room for it (others were
   * placed there meanwhile). A cordoned node still starts its own workspaces; a node that does
   * not answer fails the start itself.
   * @throws DriverError `insufficient_resources` with the placement's sentence.
   */
  private async ensureRoom(node: DockerNode, id: string, info: Docker.ContainerInspectInfo): Promise<void> {
    const state: NodeState = await node.state(this.settings.installation, id, { ignoreCordon: true });
    if (state.unavailable !== undefined) return;
    const labels = info.Config.Labels ?? {};
    const want = { cpu: Number(labels[LABEL.cpu]) || 0, memoryBytes: Number(labels[LABEL.memoryBytes]) || 0 };
    const decision = place([state], want, { pinned: 'which holds this workspace' });
    if (!decision.node)
      throw new DriverError({ reason: 'insufficient_resources', userMessage: decision.explanation });
  }

  /** Refs may come from the store; only a safe id is ever turned into a container name. */
  private idOf(ref: RuntimeRef): string | undefined {
    return typeof ref.workspaceId === 'string' && WORKSPACE_ID_PATTERN.test(ref.workspaceId)
      ? ref.workspaceId
      : undefined;
  }

  private ref(workspaceId: string, node: DockerNode): RuntimeRef {
    return {
      kind: 'docker',
      workspaceId,
      node: node.name,
      data: { container: containerName(this.settings.installation, workspaceId) },
    };
  }
}
