import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { realDeadline } from '../../clock.js';
import { DriverError, type RuntimeUsage } from '../runtimeDriver.js';

/** The limits a box's cgroup enforces (the spec's `resources`). */
export interface CgroupLimits {
  cpu: number;
  memoryBytes: number;
  pids: number;
}

/** The CFS period both cgroup versions use; the quota is `cpu` times this. */
export const CPU_PERIOD_US = 100_000;

/**
 * The CPU weight of the parent cgroup that holds every workspace, as v1 `cpu.shares` (a process
 * of the control plane weighs 1024). A quarter of a process's weight: when the control plane and
 * the workspaces all want the CPU, all workspaces together get a fifth of a contended core, so a
 * fork bomb or CPU hog cannot starve the API however many processes it runs.
 */
export const PARENT_CPU_SHARES = 256;
/** The same weight on v2's 1..10000 scale (100 is the default, like v1's 1024). */
export const PARENT_CPU_WEIGHT = 25;

/**
 * One box's cgroup, on either cgroup version. Everything the box runs lives in it: the launcher
 * joins it before it execs bubblewrap, so limits hold from the first instruction on.
 */
export interface BoxCgroup {
  readonly version: 1 | 2;
  /** Every `cgroup.procs` file a process must be written to so it is inside all the limits. */
  readonly procsFiles: string[];
  /**
   * Creates the cgroup afresh (dropping the previous run's counters, such as the OOM-kill
   * count, when it is empty) and writes the limits.
   * @throws DriverError `start_failed` when the host does not let us (no root, no delegation).
   */
  recreate(limits: CgroupLimits): Promise<void>;
  /**
   * Writes the parent cgroup's CPU weight and its cap: `cpu` cores for all workspaces together,
   * or no cap when undefined. Called by `recreate` when the cgroup was opened with a parent cap.
   */
  applyParentLimits(cpu: number | undefined): Promise<void>;
  /**
   * Creates the parent cgroup where it is missing (on v2 with the controllers enabled down to it)
   * and writes its weight and cap, for boxes that another manager (Docker's runc) creates in it.
   */
  prepareParent(cpu: number | undefined): Promise<void>;
  /** Writes the limits into the existing cgroup. @throws like `recreate`. */
  applyLimits(limits: CgroupLimits): Promise<void>;
  /** Whether the cgroup directory exists. */
  exists(): Promise<boolean>;
  /** Host pids of every process in the box; empty when the cgroup is gone. */
  pids(): Promise<number[]>;
  /** SIGKILLs every process in the box (once; callers loop until `pids()` is empty). */
  killAll(): Promise<void>;
  usage(): Promise<RuntimeUsage>;
  /** How often the kernel's OOM killer has struck in this cgroup since `recreate`. */
  oomKills(): Promise<number>;
  /** Removes the cgroup directories. Idempotent. The box must have stopped. */
  remove(): Promise<void>;
}

/** Wraps a failed cgroup write into the error users see on the workspace. */
export function cgroupSetupError(path: string, err: unknown): DriverError {
  // A failed write(2) names no file (only open does); the cause should, for whoever reads it.
  if (err instanceof Error && !(err as NodeJS.ErrnoException).path)
    (err as NodeJS.ErrnoException).path = path;
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new DriverError({
    reason: 'start_failed',
    userMessage:
      `The workspace's resource limits could not be set up (${code} on ${path}). The local runtime ` +
      'must run as root, or with a delegated cgroup, to enforce CPU, memory and process limits.',
    cause: err,
  });
}

/** Writes one cgroup control file, turning failures into `cgroupSetupError`. */
export async function writeControl(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (err) {
    throw cgroupSetupError(path, err);
  }
}

/** Creates a cgroup directory (and missing parents), turning failures into `cgroupSetupError`. */
export async function makeCgroupDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw cgroupSetupError(path, err);
  }
}

/** Reads a control file; undefined when it (or the cgroup) does not exist. */
export async function readControl(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

export async function readNumber(path: string): Promise<number | undefined> {
  const text = await readControl(path);
  const value = text === undefined ? Number.NaN : Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** A `key value` line from flat-keyed files such as memory.events or cpu.stat. */
export async function readKey(path: string, key: string): Promise<number | undefined> {
  const text = await readControl(path);
  const line = text?.split('\n').find((l) => l.startsWith(`${key} `));
  const value = Number(line?.slice(key.length + 1));
  return line === undefined || !Number.isFinite(value) ? undefined : value;
}

export async function readProcs(path: string): Promise<number[]> {
  const text = await readControl(path);
  return (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** Sends `signal` to each pid, ignoring those that are already gone. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited between listing and signalling: nothing left to do.
    }
  }
}

/**
 * Removes a cgroup directory. The kernel refuses (EBUSY) for a short while after the last
 * process exits, until it has been reaped, so this retries briefly.
 */
export async function removeCgroupDir(path: string): Promise<void> {
  const deadline = realDeadline(2000);
  for (;;) {
    try {
      await rmdir(path);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || deadline.passed()) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Tries to drop an existing cgroup so a new run starts with clean counters; keeps a busy one. */
export async function dropIfIdle(path: string): Promise<void> {
  await rmdir(path).catch(() => undefined);
}
