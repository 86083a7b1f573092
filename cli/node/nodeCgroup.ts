// The parent cgroup of the workspace containers on the node's host, prepared by the node daemon
// with the local driver's code (server/drivers/local/cgroups.ts), because the control plane cannot
// write another machine's cgroups: it carries the workspaces' low CPU weight and caps them all
// together at the host's CPUs minus `--reserved-cpu`, so one container's fork bomb or CPU hog
// leaves the host's own processes (dockerd, this daemon) their reserve. The daemon reports what it
// prepared (`node.report` `cgroupParent`); the control plane sets `CgroupParent` only then.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { NodeReport } from '../../sdk/nodeProtocol.js';
import { isRelativeCgroupPath, prepareWorkspacesParent } from '../../server/drivers/local/cgroups.js';
import { DriverError } from '../../server/drivers/runtimeDriver.js';

export interface NodeCgroupOptions {
  /** Where the cgroup file system is mounted on the host. */
  root: string;
  /** The parent cgroup, relative to the root (Docker's CgroupParent without its leading "/"). */
  parent: string;
  /** CPU cores kept from all workspace containers together; 0: no cap, the low weight only. */
  reservedCpu: number;
}

/** `--reserved-cpu` and `--cgroup-parent` as the daemon takes them; the host's CPUs bound the reserve. */
export function nodeCgroupFlags(hostCpu = availableParallelism()) {
  return z.object({
    reservedCpu: z.coerce
      .number({ error: 'must be a number of CPU cores, like 0.5' })
      .min(0, { error: 'must be 0 or more CPU cores' })
      .refine((n) => n < hostCpu, { error: `must be below this host's ${hostCpu} CPUs` }),
    cgroupParent: z.string().refine(isRelativeCgroupPath, {
      error: 'must be a relative cgroup path without ".."',
    }),
  });
}

/**
 * Writes the parent cgroup's weight and cap (idempotent; called before every report, so a parent
 * removed meanwhile comes back) and says what it prepared, or why it prepared none. Never throws.
 * @param cgroupDriver the node's Docker daemon's (`docker info`): with `systemd` its containers
 * live in slices systemd manages, not under this parent, so none is prepared.
 */
export async function prepareNodeCgroup(
  o: NodeCgroupOptions,
  cgroupDriver: string | undefined,
  hostCpu = availableParallelism(),
): Promise<NonNullable<NodeReport['cgroupParent']>> {
  if (cgroupDriver !== 'cgroupfs') {
    return {
      path: null,
      cpuCap: null,
      reason:
        `The node's Docker daemon uses the ${cgroupDriver ?? 'unknown'} cgroup driver, so workspace containers ` +
        `keep Docker's default parent and --reserved-cpu has no effect; run dockerd with ` +
        '--exec-opt native.cgroupdriver=cgroupfs.',
    };
  }
  const cap = o.reservedCpu > 0 ? hostCpu - o.reservedCpu : undefined;
  try {
    await prepareWorkspacesParent(o.root, o.parent, cap);
    return { path: `/${o.parent}`, cpuCap: cap ?? null };
  } catch (err) {
    const why = err instanceof DriverError ? err.userMessage : (err as Error).message;
    return {
      path: null,
      cpuCap: null,
      reason: `The node daemon could not prepare the parent cgroup ${o.parent}, so workspace containers keep Docker's default parent: ${why}`,
    };
  }
}
