// Reading a container back: its state in the driver contract's words, its usage, its last log lines.
import { constants } from 'node:os';
import type Docker from 'dockerode';
import type { RuntimeState, RuntimeUsage } from '../runtimeDriver.js';
import { LABEL } from './containerSpec.js';

/**
 * running (restarting counts: the daemon is bringing it back under its restart policy), or
 * stopped with the exit code and why. A container that never ran has no exit code.
 */
export function runtimeState(info: Docker.ContainerInspectInfo): RuntimeState {
  const s = info.State;
  if (s.Running || s.Restarting) return { status: 'running' };
  if (s.Status === 'created') return { status: 'stopped' };
  const reason = stopReason(s, info.Config?.Labels?.[LABEL.role] === 'agent');
  return { status: 'stopped', exitCode: s.ExitCode, ...(reason && { reason }) };
}

/**
 * Why a container stopped, in a user's words; undefined for a clean exit of a command. A workspace
 * (agent) container restarts under its policy after a crash, so one that stays stopped was stopped
 * on purpose — by the platform (which then knows it), or by someone or something else.
 */
export function stopReason(s: Docker.ContainerInspectInfo['State'], isWorkspace = false): string | undefined {
  // Docker sets OOMKilled when the kernel killed any process of the container for memory; it
  // explains the stop only when the container then exited with an error.
  if (s.OOMKilled && s.ExitCode !== 0) return 'killed: out of memory';
  if (s.Error) return `failed to start: ${s.Error}`;
  const signal =
    s.ExitCode > 128
      ? (Object.entries(constants.signals).find(([, n]) => n === s.ExitCode - 128)?.[0] ??
        String(s.ExitCode - 128))
      : undefined;
  const how = signal ? `killed by signal ${signal}` : `exit code ${s.ExitCode}`;
  if (isWorkspace)
    return `${how}: stopped outside the platform (docker stop or kill, or a restart of the Docker daemon)`;
  return signal ? how : undefined;
}

/** Usage from a one-shot stats sample: memory without the reclaimable page cache, processes, CPU time. */
export function runtimeUsage(stats: Docker.ContainerStats): RuntimeUsage {
  const mem = stats.memory_stats;
  const cache = mem?.stats?.inactive_file ?? mem?.stats?.total_inactive_file ?? 0;
  const usage: RuntimeUsage = {};
  if (typeof mem?.usage === 'number') usage.memoryBytes = Math.max(0, mem.usage - cache);
  if (typeof stats.pids_stats?.current === 'number') usage.pids = stats.pids_stats.current;
  const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
  if (typeof cpu === 'number') usage.cpuSeconds = cpu / 1e9;
  return usage;
}

/**
 * The text of a non-TTY container's log, whose frames carry an 8-byte header (stream type, three
 * zero bytes, a big-endian length). Anything that does not parse as frames is taken as plain text.
 */
export function demuxLogs(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const type = raw[at];
    if ((type !== 0 && type !== 1 && type !== 2) || raw[at + 1] !== 0) return raw.toString('utf8');
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return at === 0 && raw.length > 0 ? raw.toString('utf8') : Buffer.concat(parts).toString('utf8');
}
