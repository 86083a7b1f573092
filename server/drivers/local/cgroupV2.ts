import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverError, type RuntimeUsage } from '../runtimeDriver.js';
import {
  type BoxCgroup,
  type CgroupLimits,
  CPU_PERIOD_US,
  dropIfIdle,
  makeCgroupDir,
  PARENT_CPU_WEIGHT,
  readControl,
  readKey,
  readNumber,
  readProcs,
  removeCgroupDir,
  signalAll,
  writeControl,
} from './cgroupFiles.js';

const CONTROLLERS = ['memory', 'pids', 'cpu'];

/**
 * A box's cgroup on a cgroup v2 (unified) host: `<root>/<parent>/<workspaceId>`. Controllers
 * reach a cgroup only when every ancestor lists them in `cgroup.subtree_control`, so
 * `recreate` enables them from the root down to the parent. v2's "no internal processes" rule
 * means the parent must hold no processes itself, which is why boxes live one level below it.
 */
export class CgroupV2 implements BoxCgroup {
  readonly version = 2;
  readonly procsFiles: string[];
  private readonly dir: string;

  constructor(
    private readonly root: string,
    private readonly parent: string,
    workspaceId: string,
    private readonly parentCpu?: number,
  ) {
    this.dir = join(root, parent, workspaceId);
    this.procsFiles = [join(this.dir, 'cgroup.procs')];
  }

  async recreate(limits: CgroupLimits): Promise<void> {
    await this.prepareParent(this.parentCpu);
    await dropIfIdle(this.dir);
    await makeCgroupDir(this.dir);
    await this.applyLimits(limits);
  }

  async prepareParent(cpu: number | undefined): Promise<void> {
    let level = this.root;
    for (const segment of ['', ...this.parent.split('/').filter(Boolean)]) {
      level = join(level, segment);
      if (segment !== '') await makeCgroupDir(level);
      await this.enableControllers(level);
    }
    await this.applyParentLimits(cpu);
  }

  async applyParentLimits(cpu: number | undefined): Promise<void> {
    const dir = join(this.root, this.parent);
    await writeControl(join(dir, 'cpu.weight'), String(PARENT_CPU_WEIGHT));
    await writeControl(
      join(dir, 'cpu.max'),
      `${cpu === undefined ? 'max' : Math.round(cpu * CPU_PERIOD_US)} ${CPU_PERIOD_US}`,
    );
  }

  /**
   * Turns the controllers on for `level`'s children. A write can fail where they are already on
   * (some delegations refuse the root's file) or where the level itself holds processes — e.g.
   * the control plane sits in the root of a container's cgroup namespace; only the second is an
   * error, and it names the fix.
   */
  private async enableControllers(level: string): Promise<void> {
    const file = join(level, 'cgroup.subtree_control');
    try {
      await writeControl(file, CONTROLLERS.map((c) => `+${c}`).join(' '));
    } catch (err) {
      const enabled = ((await readControl(file)) ?? '').split(/\s+/);
      if (CONTROLLERS.every((c) => enabled.includes(c))) return;
      throw new DriverError({
        reason: 'start_failed',
        userMessage:
          `The workspace's resource limits could not be set up: the memory, pids and cpu cgroup ` +
          `controllers cannot be enabled in ${level}. Run the control plane as root in a cgroup ` +
          'that does not itself hold processes (for example a systemd service with Delegate=yes).',
        cause: err,
      });
    }
  }

  async applyLimits(limits: CgroupLimits): Promise<void> {
    await writeControl(join(this.dir, 'memory.max'), String(limits.memoryBytes));
    // Without swap accounting the file does not exist and there is no swap to limit.
    await writeControl(join(this.dir, 'memory.swap.max'), '0').catch(() => undefined);
    await writeControl(join(this.dir, 'pids.max'), String(limits.pids));
    await writeControl(
      join(this.dir, 'cpu.max'),
      `${Math.round(limits.cpu * CPU_PERIOD_US)} ${CPU_PERIOD_US}`,
    );
  }

  async exists(): Promise<boolean> {
    return (await readControl(join(this.dir, 'cgroup.procs'))) !== undefined;
  }

  pids(): Promise<number[]> {
    return readProcs(join(this.dir, 'cgroup.procs'));
  }

  /** cgroup.kill (Linux 5.14+) kills the whole cgroup atomically, even a forking one. */
  async killAll(): Promise<void> {
    const kill = join(this.dir, 'cgroup.kill');
    if (
      await access(kill).then(
        () => true,
        () => false,
      )
    ) {
      // The SIGKILL of every listed pid below does the same, only less atomically.
      await writeControl(kill, '1').catch(() => undefined);
    }
    signalAll(await this.pids(), 'SIGKILL');
  }

  async usage(): Promise<RuntimeUsage> {
    const usec = await readKey(join(this.dir, 'cpu.stat'), 'usage_usec');
    return {
      memoryBytes: await readNumber(join(this.dir, 'memory.current')),
      cpuSeconds: usec === undefined ? undefined : usec / 1e6,
      pids: await readNumber(join(this.dir, 'pids.current')),
    };
  }

  async oomKills(): Promise<number> {
    return (await readKey(join(this.dir, 'memory.events'), 'oom_kill')) ?? 0;
  }

  async remove(): Promise<void> {
    await removeCgroupDir(this.dir);
  }
}
