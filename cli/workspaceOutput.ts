// How `rclaude ws` shows workspaces to a person: a block for one, table cells for many.
import type { Workspace } from '../sdk/workspaceWire.js';
import { shortTime } from './output.js';

/** 1536 → "1.5K", 2147483648 → "2G": binary units, one decimal below 10. */
export function formatBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit > 0 && value < 10 ? 1 : 0;
  return `${value.toFixed(digits).replace(/\.0$/, '')}${units[unit]}`;
}

/** Time since `iso` in its largest whole unit: "42s", "5m", "3h", "2d". */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** "running", "running (unhealthy)", "failed: the clone failed", "starting (Cloning: 40%)". */
export function statusText(w: Workspace, withReason = true): string {
  if (w.status === 'running' && w.health === 'unhealthy') return 'running (unhealthy)';
  if (!withReason || !w.statusReason) return w.status;
  return w.status === 'failed' ? `failed: ${w.statusReason}` : `${w.status} (${w.statusReason})`;
}

/** The last heartbeat's usage while the workspace runs; once it has stopped that would be stale. */
function liveUsage(w: Workspace): Workspace['usage'] {
  return w.status === 'running' ? w.usage : null;
}

export function cpuCell(w: Workspace): string {
  const usage = liveUsage(w);
  return usage ? `${Math.round(usage.cpuPercent)}%` : '-';
}

export function memoryCell(w: Workspace): string {
  const usage = liveUsage(w);
  return `${usage ? formatBytes(usage.memoryBytes) : '-'}/${formatBytes(w.resources.memoryBytes)}`;
}

/** Every field worth reading, one per line, labels aligned. */
export function describeWorkspace(w: Workspace, now = Date.now()): string {
  const cores = `${w.resources.cpu} CPU${w.resources.cpu === 1 ? '' : 's'}`;
  const usage = liveUsage(w);
  const rows: [string, string | null][] = [
    ['ID', w.id],
    ['Name', w.name],
    ['Repository', w.repository],
    ['Status', statusText(w)],
    ['Resources', `${cores}, ${formatBytes(w.resources.memoryBytes)} memory, ${w.resources.pids} processes`],
    [
      'Usage',
      usage
        ? `${Math.round(usage.cpuPercent)}% CPU, ${formatBytes(usage.memoryBytes)} memory, ` +
          `${formatBytes(usage.diskBytes)} disk, ${usage.processes} processes`
        : null,
    ],
    ['Driver', w.driver],
    ['Created', `${shortTime(w.createdAt)} UTC (${age(w.createdAt, now)} ago)`],
    ['Started', w.startedAt ? `${shortTime(w.startedAt)} UTC` : null],
    ['Stopped', w.stoppedAt ? `${shortTime(w.stoppedAt)} UTC` : null],
    // Its owner was warned (sessions.idleTimeout); a terminal or a task keeps it running.
    ['Idle stop', w.idleStopAt ? `${shortTime(w.idleStopAt)} UTC unless used before` : null],
  ];
  return rows
    .filter((r): r is [string, string] => r[1] !== null)
    .map(([label, value]) => `${label.padEnd(11)} ${value}`)
    .join('\n');
}
