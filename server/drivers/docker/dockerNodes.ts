// The Docker hosts ("nodes") the driver places workspaces on: one dockerode client per configured
// node, each call bounded in time, plus what placement and GET /api/v1/nodes need to know about a
// node (its size, its health, the installation's containers on it).
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { capacityOf, type NodeState } from '../../scheduler/placement.js';
import { DriverError } from '../runtimeDriver.js';
import { LABEL } from './containerSpec.js';
import { type CallContext, dockerCall } from './dockerCall.js';
import type { RemoteNodeLink, RemoteNodes } from './remoteNode.js';

/** How the control plane reaches a node's Docker daemon. */
export type DockerEndpoint =
  | { socketPath: string }
  /** TCP; with `tls` (paths of PEM files) it speaks HTTPS and checks the daemon's certificate. */
  | { host: string; port?: number | undefined; tls?: { ca: string; cert: string; key: string } | undefined }
  /** "ssh://user@host[:port]": runs `docker system dial-stdio` on the host over SSH. */
  | { ssh: string; identityFile?: string | undefined }
  /** Through the host's `rclaude node` daemon, named so (remoteNode.ts). */
  | { node: string };

export interface DockerNodeConfig {
  name: string;
  docker: DockerEndpoint;
  /**
   * What workspaces may reserve on the node. Unset: the machine's own cores and memory (docker
   * info), and the driver's default workspace count (`pooling.maxTasksPerInstance`).
   */
  capacity?: {
    cpu?: number | undefined;
    memoryBytes?: number | undefined;
    maxWorkspaces?: number | undefined;
  };
  /** Drained: the node keeps its workspaces but placement gives it no new one. */
  cordoned?: boolean | undefined;
}

/** A node's machine, as `docker info` describes it. */
export interface DockerHost {
  cpu: number;
  memoryBytes: number;
  /** `cgroupfs` or `systemd`: how the daemon names and makes container cgroups. */
  cgroupDriver: string;
  hostname: string;
}

/** One of the installation's containers on a node, as `docker ps -a` lists it. */
export interface NodeBox {
  workspaceId: string;
  name: string;
  running: boolean;
  /**
   * Whether it holds its room on the node: running (or paused, restarting), or created moments
   * ago and not started yet, i.e. being placed and started now. A stopped one reserves nothing
   * (its start checks again that it fits), nor does one left created by a start Docker refused.
   */
  reserving: boolean;
  cpu: number;
  memoryBytes: number;
}

/**
 * How long a container created and never started keeps its room: the driver starts it right
 * after creating it, so one still not started after this was left by a start that failed.
 */
const CREATED_RESERVES_SECONDS = 120;

/** dockerode takes an abortSignal on info and ping too; its type definitions do not say so. */
interface SignalCalls {
  info(opts: {
    abortSignal: AbortSignal;
  }): Promise<{ NCPU?: number; MemTotal?: number; CgroupDriver?: string; Name?: string }>;
  ping(opts: { abortSignal: AbortSignal }): Promise<unknown>;
}

export class DockerNode {
  readonly name: string;
  readonly client: Docker;
  readonly endpoint: string;
  /** The configured capacity; see `capacity()` for what is enforced. */
  readonly configured: NonNullable<DockerNodeConfig['capacity']>;
  readonly cordoned: boolean;
  /** Whether the daemon is reached by a unix socket on this machine (it may still be a VM's). */
  readonly local: boolean;
  /** Set when the node is reached through its `rclaude node` daemon. */
  readonly remote: RemoteNodeLink | undefined;
  private hostInfo?: DockerHost;

  constructor(
    config: DockerNodeConfig,
    private readonly callTimeoutMs: number,
    remoteNodes?: RemoteNodes,
    /** Workspaces on a node whose config sets no `maxWorkspaces` (pooling.maxTasksPerInstance). */
    private readonly defaultMaxWorkspaces?: number,
  ) {
    this.name = config.name;
    this.configured = config.capacity ?? {};
    this.cordoned = config.cordoned ?? false;
    if ('node' in config.docker) {
      if (!remoteNodes) throw new Error(`Docker node ${config.name} needs the control plane's node hub.`);
      this.remote = remoteNodes.link(config.docker.node);
    }
    const { options, endpoint } = this.remote
      ? {
          options: { ...clientOptions({ socketPath: this.remote.socketPath }).options },
          endpoint: `rclaude-node://${(config.docker as { node: string }).node}`,
        }
      : clientOptions(config.docker as Exclude<DockerEndpoint, { node: string }>);
    this.client = new Docker(options);
    this.endpoint = endpoint;
    this.local = 'socketPath' in config.docker;
  }

  /** A Docker API call on this node with the default deadline (or `ms`); errors become DriverErrors. */
  call<T>(
    fn: (docker: Docker, signal: AbortSignal) => Promise<T>,
    opts: { ms?: number; image?: string } = {},
  ) {
    const ctx: CallContext = { node: this.name, endpoint: this.endpoint, image: opts.image };
    const run = () => dockerCall(ctx, opts.ms ?? this.callTimeoutMs, (signal) => fn(this.client, signal));
    // A node daemon that is not connected gets its own sentence instead of "connection reset".
    return this.remote ? this.remote.ensureConnected().then(run) : run();
  }

  /** The machine's CPU count and memory (docker info), asked once. */
  async host(): Promise<{ cpu: number; memoryBytes: number }> {
    const { cpu, memoryBytes } = await this.hostDetails();
    return { cpu, memoryBytes };
  }

  /** What `docker info` says about the machine, asked once. */
  async hostDetails(): Promise<DockerHost> {
    if (!this.hostInfo) {
      const info = await this.call((d, abortSignal) => (d as unknown as SignalCalls).info({ abortSignal }));
      this.hostInfo = {
        cpu: Number(info.NCPU) || 1,
        memoryBytes: Number(info.MemTotal) || 0,
        cgroupDriver: info.CgroupDriver ?? 'unknown',
        hostname: info.Name ?? '',
      };
    }
    return this.hostInfo;
  }

  /** Whether the daemon answers a ping within the deadline, and if not, why. */
  async health(): Promise<{ healthy: boolean; error?: string }> {
    try {
      await this.call((d, abortSignal) => (d as unknown as SignalCalls).ping({ abortSignal }), {
        ms: Math.min(this.callTimeoutMs, 5000),
      });
      return { healthy: true };
    } catch (err) {
      return { healthy: false, error: err instanceof DriverError ? err.userMessage : String(err) };
    }
  }

  /** Every container of `installation` on this node, running or not. */
  async boxes(installation: string): Promise<NodeBox[]> {
    const list = await this.call((d, abortSignal) =>
      d.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`${LABEL.installation}=${installation}`] }),
        abortSignal,
      }),
    );
    return list.flatMap((c) => {
      const workspaceId = c.Labels?.[LABEL.workspace];
      if (!workspaceId) return [];
      return [
        {
          workspaceId,
          name: (c.Names?.[0] ?? '').replace(/^\//, ''),
          running: c.State === 'running' || c.State === 'restarting',
          reserving:
            ['running', 'restarting', 'paused'].includes(c.State) ||
            (c.State === 'created' && Date.now() / 1000 - c.Created < CREATED_RESERVES_SECONDS),
          cpu: Number(c.Labels?.[LABEL.cpu]) || 0,
          memoryBytes: Number(c.Labels?.[LABEL.memoryBytes]) || 0,
        },
      ];
    });
  }

  /**
   * What placement enforces on the node: its configured capacity, else the machine's size. No
   * reserve is subtracted for the control plane on this machine: a reservation is a workspace's
   * limit (a ceiling, not a guarantee), and runtime.docker.reservedCpu already caps all workspace
   * containers together below the host's cores, so subtracting it again would refuse a second
   * 1-CPU workspace on a 2-core host where the cap lets both run.
   */
  capacity(host: { cpu: number; memoryBytes: number } | undefined): NodeState['capacity'] {
    return capacityOf(this.configured, host, this.defaultMaxWorkspaces);
  }

  /**
   * The node's state for placement: its capacity and what the installation's reserving
   * containers on it take, leaving out `exclude` (the workspace being placed or started). Never
   * throws: a cordoned node, or one that does not answer, is `unavailable` with the reason.
   */
  async state(
    installation: string,
    exclude?: string,
    opts: { ignoreCordon?: boolean } = {},
  ): Promise<NodeState & { error?: unknown }> {
    const empty = { cpu: 0, memoryBytes: 0, workspaces: 0 };
    if (this.cordoned && !opts.ignoreCordon)
      return { name: this.name, capacity: {}, used: empty, unavailable: 'is cordoned (nodes[].cordoned)' };
    try {
      const [boxes, host] = await Promise.all([this.boxes(installation), this.host()]);
      return {
        name: this.name,
        capacity: this.capacity(host),
        used: sumBoxes(boxes.filter((b) => b.reserving && b.workspaceId !== exclude)),
      };
    } catch (err) {
      const why = err instanceof DriverError ? err.userMessage : String(err);
      return {
        name: this.name,
        capacity: {},
        used: empty,
        unavailable: `does not answer (${why.replace(/\.$/, '')})`,
        error: err,
      };
    }
  }

  /** The node's row in GET /api/v1/nodes. Never throws: an unreachable node is unhealthy. */
  async report(installation: string): Promise<NodeItem> {
    const health = await this.health();
    const capacityItem = (host: { cpu: number; memoryBytes: number } | undefined) => {
      const c = this.capacity(host);
      return { cpu: c.cpu ?? null, memoryBytes: c.memoryBytes ?? null, maxWorkspaces: c.workspaces ?? null };
    };
    const empty = { cpu: 0, memoryBytes: 0, workspaces: 0, running: 0 };
    const daemon = this.remote ? { daemon: await this.remote.daemon() } : {};
    const unhealthy = (error: string | undefined): NodeItem => ({
      name: this.name,
      driver: 'docker',
      healthy: false,
      ...(error === undefined ? {} : { error }),
      cordoned: this.cordoned,
      capacity: capacityItem(undefined),
      host: null,
      used: empty,
      ...daemon,
    });
    if (!health.healthy) return unhealthy(health.error);
    try {
      const [boxes, host] = await Promise.all([this.boxes(installation), this.host()]);
      const reserving = boxes.filter((b) => b.reserving);
      const used = { ...sumBoxes(reserving), running: boxes.filter((b) => b.running).length };
      return {
        name: this.name,
        driver: 'docker',
        healthy: true,
        cordoned: this.cordoned,
        capacity: capacityItem(host),
        host,
        used,
        ...daemon,
      };
    } catch (err) {
      return unhealthy(err instanceof DriverError ? err.userMessage : String(err));
    }
  }
}

function sumBoxes(boxes: NodeBox[]): { cpu: number; memoryBytes: number; workspaces: number } {
  return {
    cpu: boxes.reduce((n, b) => n + b.cpu, 0),
    memoryBytes: boxes.reduce((n, b) => n + b.memoryBytes, 0),
    workspaces: boxes.length,
  };
}

/**
 * dockerode options for an endpoint. Every connection setting is given explicitly: docker-modem
 * otherwise fills gaps from DOCKER_HOST, DOCKER_CERT_PATH and DOCKER_CLIENT_TIMEOUT, and a driver
 * must not depend on the server's environment.
 */
function clientOptions(e: Exclude<DockerEndpoint, { node: string }>): {
  options: Docker.DockerOptions;
  endpoint: string;
} {
  const none: Docker.DockerOptions = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    timeout: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  if ('socketPath' in e) {
    return {
      options: { ...none, protocol: 'http', socketPath: e.socketPath },
      endpoint: `unix://${e.socketPath}`,
    };
  }
  if ('ssh' in e) {
    const url = new URL(e.ssh.includes('://') ? e.ssh : `ssh://${e.ssh}`);
    return {
      options: {
        ...none,
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: decodeURIComponent(url.username) || 'root',
        sshOptions: e.identityFile ? { privateKey: readFileSync(e.identityFile) } : {},
      },
      endpoint: `ssh://${url.host}`,
    };
  }
  const port = e.port ?? (e.tls ? 2376 : 2375);
  if (e.tls) {
    return {
      options: {
        ...none,
        protocol: 'https',
        host: e.host,
        port,
        ca: readFileSync(e.tls.ca),
        cert: readFileSync(e.tls.cert),
        key: readFileSync(e.tls.key),
      },
      endpoint: `https://${e.host}:${port}`,
    };
  }
  return { options: { ...none, protocol: 'http', host: e.host, port }, endpoint: `tcp://${e.host}:${port}` };
}
