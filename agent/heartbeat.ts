import { readdir, readFile } from 'node:fs/promises';
import type { NotificationOf } from '../sdk/agentProtocol.js';
import type { DiskUsage } from './diskUsage.js';

/** Linux reports utime/stime in USER_HZ ticks, which is 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export type Usage = NotificationOf<'agent.heartbeat'>;

/**
 * Resource usage of the whole workspace for `agent.heartbeat`. Inside the sandbox the agent is in
 * the workspace's pid namespace, so /proc lists exactly the workspace's processes; summing over
 * it gives the workspace's CPU and memory without cgroup access.
 */
export class UsageSampler {
  /** CPU ticks per pid at the previous sample, to take per-process deltas. */
  private lastTicks = new Map<number, number>();
  /** Seconds since boot at the previous sample (/proc/uptime: the clock process start times use). */
  private lastUptime: number | undefined;
  private pageSize: number | undefined;

  constructor(private readonly disk: DiskUsage) {}

  async sample(): Promise<Usage> {
    const uptime = await readUptime();
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
    const per = await Promise.all(pids.map((pid) => readProcess(pid)));
    this.pageSize ??= await detectPageSize();
    const since = this.lastUptime ?? uptime;
    const ticks = new Map<number, number>();
    let deltaTicks = 0;
    let rssPages = 0;
    per.forEach((p, i) => {
      if (!p) return; // exited while we read
      const pid = pids[i] as number;
      ticks.set(pid, p.ticks);
      rssPages += p.rssPages;
      const before = this.lastTicks.get(pid);
      // A process started since the last sample spent all its CPU time within the interval; one
      // that is merely new to us (the first sample) only sets the baseline.
      if (before !== undefined) deltaTicks += Math.max(0, p.ticks - before);
      else if (p.startedAt >= since * TICKS_PER_SECOND) deltaTicks += p.ticks;
    });
    const seconds = uptime - since;
    this.lastTicks = ticks;
    this.lastUptime = uptime;
    return {
      cpuPercent: seconds > 0 ? Math.round((deltaTicks / TICKS_PER_SECOND / seconds) * 1000) / 10 : 0,
      memoryBytes: rssPages * this.pageSize,
      diskBytes: this.disk.current(),
      processes: ticks.size,
      uptimeSeconds: Math.round(process.uptime()),
    };
  }
}

async function readUptime(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
}

async function readProcess(
  pid: number,
): Promise<{ ticks: number; startedAt: number; rssPages: number } | undefined> {
  try {
    const [stat, statm] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/statm`, 'utf8'),
    ]);
    // The command name (field 2) may hold spaces and parentheses; fields after its last ")" are
    // state, ppid, …: utime, stime and starttime are fields 14, 15 and 22 of proc(5), so 11, 12
    // and 19 here.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const startedAt = Number(fields[19]);
    const rssPages = Number(statm.split(' ')[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(startedAt) || !Number.isFinite(rssPages))
      return undefined;
    return { ticks, startedAt, rssPages };
  } catch {
    return undefined;
  }
}
/**
 * statm counts pages and Node has no getpagesize(). process.memoryUsage().rss is pages × the real
 * page size, so comparing it with our own statm reveals the page size (4 KiB, 16 KiB or 64 KiB).
 */
async function detectPageSize(): Promise<number> {
  const pages = Number((await readFile('/proc/self/statm', 'utf8')).split(' ')[1]);
  const ratio = process.memoryUsage().rss / pages;
  const sizes = [4096, 16384, 65536];
  return sizes.reduce((best, size) => (Math.abs(size - ratio) < Math.abs(best - ratio) ? size : best));
}
