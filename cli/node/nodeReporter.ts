// What the node daemon tells the control plane about its host (`node.report`): its Docker
// daemon's view of the machine, and the parent cgroup of the workspaces, prepared just before. A
// Docker daemon that does not answer makes the report unhealthy instead of failing it.
import Docker from 'dockerode';
import type { NodeReport } from '../../sdk/nodeProtocol.js';
import { type NodeCgroupOptions, prepareNodeCgroup } from './nodeCgroup.js';

export function dockerClient(socketPath: string): Docker {
  // Every setting explicit: docker-modem otherwise reads DOCKER_HOST and friends.
  return new Docker({ socketPath, protocol: 'http', host: undefined, port: undefined, timeout: 5000 });
}

/** @param cgroup the parent cgroup to prepare; unset: none (the report has no `cgroupParent`). */
export async function sampleNodeReport(docker: Docker, cgroup?: NodeCgroupOptions): Promise<NodeReport> {
  try {
    const info = (await docker.info()) as {
      NCPU?: number;
      MemTotal?: number;
      ServerVersion?: string;
      ContainersRunning?: number;
      CgroupDriver?: string;
    };
    return {
      cpu: Number(info.NCPU) || 0,
      memoryBytes: Number(info.MemTotal) || 0,
      dockerVersion: info.ServerVersion ?? null,
      containers: Number(info.ContainersRunning) || 0,
      healthy: true,
      ...(cgroup ? { cgroupParent: await prepareNodeCgroup(cgroup, info.CgroupDriver) } : {}),
    };
  } catch (err) {
    return {
      cpu: 0,
      memoryBytes: 0,
      dockerVersion: null,
      containers: 0,
      healthy: false,
      error: `The node's Docker daemon does not answer: ${(err as Error).message}`,
    };
  }
}
