import type { Config } from '../../config/configSchema.js';
import { parseCpu, parseSize } from '../../config/units.js';
import type { DockerDriverConfig } from './dockerDriver.js';
import type { DockerNodeConfig } from './dockerNodes.js';
import type { RemoteNodes } from './remoteNode.js';

/** Where a single-host installation finds its daemon when `nodes` is empty. */
export const DEFAULT_DOCKER_NODE: DockerNodeConfig = {
  name: 'local',
  docker: { socketPath: '/var/run/docker.sock' },
};

/** Names of the `rclaude node` daemons the `nodes` config reaches Docker hosts through. */
export function remoteNodeNames(config: Config): string[] {
  return config.nodes.flatMap((n) => ('node' in n.docker ? [n.docker.node] : []));
}

/** The docker driver's part of the process config (`runtime.docker` and `nodes`). */
export function dockerDriverConfig(config: Config, remoteNodes?: RemoteNodes): DockerDriverConfig {
  const d = config.runtime.docker;
  const nodes: DockerNodeConfig[] =
    config.nodes.length === 0
      ? [DEFAULT_DOCKER_NODE]
      : config.nodes.map((n) => ({
          name: n.name,
          docker: n.docker,
          capacity: {
            cpu: n.capacity.cpu === undefined ? undefined : parseCpu(n.capacity.cpu),
            memoryBytes: n.capacity.memory === undefined ? undefined : parseSize(n.capacity.memory),
            maxWorkspaces: n.capacity.maxWorkspaces,
          },
          cordoned: n.cordoned,
        }));
  return {
    image: d.image,
    installation: d.installation,
    runtime: d.runtime,
    usernsMode: d.usernsMode,
    tmpfsSize: d.tmpfsSize,
    init: d.init,
    nodes,
    strategy: config.placement.strategy,
    maxWorkspacesPerNode: config.pooling.maxTasksPerInstance,
    callTimeoutMs: d.callTimeout * 1000,
    cgroupParent: d.cgroupParent,
    reservedCpu: d.reservedCpu,
    remoteNodes,
  };
}
