import { join } from 'node:path';
import type { RuntimeUsage } from '../runtimeDriver.js';
import {
  type BoxCgroup,
  type CgroupLimits,
  CPU_PERIOD_US,
  dropIfIdle,
  makeCgroupDir,
  PARENT_CPU_SHARES,
  readControl,
  readKey,
  readNumber,
  readProcs,
  removeCgroupDir,
  signalAll,
  writeControl,
} from './cgroupFiles.js';

/**
 * A box's cgroup on a cgroup v1 host: one directory per controller, each at
 * `<root>/<controller>/<parent>/<workspaceId>`. On hosts that mount cpu and cpuacct together,
 * `<root>/cpu` and `<root>/cpuacct` are symlinks to one hierarchy; writing to both is harmless.
 */
export class CgroupV1 implements BoxCgroup {
  readonly version = 1;
  readonly procsFiles: string[];
  private readonly controllers: string[];

  /** @param hasCpuacct whether `<root>/cpuacct` exists (only used for CPU-time usage). */
  constructor(
    private readonly root: string,
    private readonly parent: string,
    private readonly workspaceId: string,
    hasCpuacct: boolean,
    private readonly parentCpu?: number,
  ) {
    this.controllers = ['memory', 'pids', 'cpu', ...(hasCpuacct ? ['cpuacct'] : [])];
    this.procsFiles = this.controllers.map((c) => join(this.dir(c), 'cgroup.procs'));
  }

  private dir(controller: string): string {
    return join(this.root, controller, this.parent, this.workspaceId);
  }

  async recreate(limits: CgroupLimits): Promise<void> {
    for (const c of this.controllers) {
      await dropIfIdle(this.dir(c));
      await makeCgroupDir(this.dir(c));
    }
    await this.applyParentLimits(this.parentCpu);
    await this.applyLimits(limits);
  }

  async prepareParent(cpu: number | undefined): Promise<void> {
    await makeCgroupDir(join(this.root, 'cpu', this.parent));
    await this.applyParentLimits(cpu);
  }

  async applyParentLimits(cpu: number | undefined): Promise<void> {
    const dir = join(this.root, 'cpu', this.parent);
    await writeControl(join(dir, 'cpu.shares'), String(PARENT_CPU_SHARES));
    await writeControl(join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    await writeControl(
      join(dir, 'cpu.cfs_quota_us'),
      cpu === undefined ? '-1' : String(Math.round(cpu * CPU_PERIOD_US)),
    );
  }

  async applyLimits(limits: CgroupLimits): Promise<void> {
    await this.applyMemory(limits.memoryBytes);
    await writeControl(join(this.dir('pids'), 'pids.max'), String(limits.pids));
    await writeControl(join(this.dir('cpu'), 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    await writeControl(
      join(this.dir('cpu'), 'cpu.cfs_quota_us'),
      String(Math.round(limits.cpu * CPU_PERIOD_US)),
    );
  }

  /**
   * Memory plus swap is capped at the memory limit, so the box cannot swap. The kernel insists
   * that memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment, so the order of
   * the two writes depends on whether the limit grows or shrinks. memsw files exist only with
   * swap accounting on; without it there is no swap to limit.
   */
  private async applyMemory(bytes: number): Promise<void> {
    const dir = this.dir('memory');
    const limit = join(dir, 'memory.limit_in_bytes');
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    const currentMemsw = await readNumber(memsw);
    const writeMemsw = async () => {
      if (currentMemsw !== undefined) await writeControl(memsw, String(bytes));
    };
    if (currentMemsw !== undefined && bytes > currentMemsw) {
      await writeMemsw();
      await writeControl(limit, String(bytes));
    } else {
      await writeControl(limit, String(bytes));
      await writeMemsw();
    }
  }

  async exists(): Promise<boolean> {
    return (await readControl(join(this.dir('pids'), 'cgroup.procs'))) !== undefined;
  }

  pids(): Promise<number[]> {
    return readProcs(join(this.dir('pids'), 'cgroup.procs'));
  }

  async killAll(): Promise<void> {
    signalAll(await this.pids(), 'SIGKILL');
  }

  async usage(): Promise<RuntimeUsage> {
    const cpuNs = await readNumber(join(this.dir('cpuacct'), 'cpuacct.usage'));
    return {
      memoryBytes: await readNumber(join(this.dir('memory'), 'memory.usage_in_bytes')),
      cpuSeconds: cpuNs === undefined ? undefined : cpuNs / 1e9,
      pids: await readNumber(join(this.dir('pids'), 'pids.current')),
    };
  }

  async oomKills(): Promise<number> {
    return (await readKey(join(this.dir('memory'), 'memory.oom_control'), 'oom_kill')) ?? 0;
  }

  async remove(): Promise<void> {
    for (const c of this.controllers) await removeCgroupDir(this.dir(c));
  }
}
