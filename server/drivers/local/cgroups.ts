import { access } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DriverError } from '../runtimeDriver.js';
import type { BoxCgroup } from './cgroupFiles.js';
import { CgroupV1 } from './cgroupV1.js';
import { CgroupV2 } from './cgroupV2.js';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The cgroup for one workspace's box. A unified (v2) host has `cgroup.controllers` at the root;
 * otherwise the v1 controllers must be mounted under the root as separate directories.
 * `parentCpu` caps all workspaces together (the parent cgroup) at that many cores.
 * @throws DriverError `unavailable` when neither layout is there.
 */
export async function openBoxCgroup(
  root: string,
  parent: string,
  workspaceId: string,
  parentCpu?: number,
): Promise<BoxCgroup> {
  if (await exists(join(root, 'cgroup.controllers')))
    return new CgroupV2(root, parent, workspaceId, parentCpu);
  for (const controller of ['memory', 'pids', 'cpu']) {
    if (!(await exists(join(root, controller)))) {
      throw new DriverError({
        reason: 'unavailable',
        userMessage:
          `The local runtime cannot enforce resource limits: the ${controller} cgroup controller is not ` +
          `mounted under ${root} (neither cgroup v2 nor v1 found).`,
      });
    }
  }
  return new CgroupV1(root, parent, workspaceId, await exists(join(root, 'cpuacct')), parentCpu);
}

/** Whether `path` names a cgroup below the root: relative, and never stepping out with "..". */
export function isRelativeCgroupPath(path: string): boolean {
  return path !== '' && !isAbsolute(path) && !path.split('/').includes('..');
}

/**
 * Makes the parent cgroup that holds every workspace on this host ready for boxes created by
 * someone else (Docker's runc with `CgroupParent`): it exists, carries the workspaces' CPU weight
 * and caps them all together at `cpu` cores (no cap when undefined).
 * @throws DriverError `unavailable` (no cgroup file system), `start_failed` (not allowed to write).
 */
export async function prepareWorkspacesParent(
  root: string,
  parent: string,
  cpu: number | undefined,
): Promise<void> {
  const cgroup = await openBoxCgroup(root, parent, 'parent-only', cpu);
  await cgroup.prepareParent(cpu);
}
