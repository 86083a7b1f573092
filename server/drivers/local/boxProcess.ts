import { open, readFile } from 'node:fs/promises';
import type { BoxPaths } from './boxPaths.js';

/** One process, named so that a later process reusing its pid is not mistaken for it. */
export interface ProcessId {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot). */
  startTime: string;
}

/** The box's main process (bwrap's outer process) as the launcher recorded it. */
export interface BoxProcess extends ProcessId {
  /** The root shell waiting for it, which writes the exit status when it ends. */
  waiter?: ProcessId;
}

/** How the box's main process ended. */
export interface BoxExit {
  /** The command's exit status (or bwrap's, when the command never ran). */
  code: number;
  /** False when bwrap failed before it could exec the command (bad bind, missing binary, …). */
  ran: boolean;
}

export async function readBoxProcess(paths: BoxPaths): Promise<BoxProcess | undefined> {
  const text = await readFile(paths.pid, 'utf8').catch(() => undefined);
  const [pid, startTime, waiterPid, waiterStart] = (text ?? '').trim().split(' ');
  if (!pid || !startTime) return undefined;
  const waiter = waiterPid && waiterStart ? { pid: Number(waiterPid), startTime: waiterStart } : undefined;
  return { pid: Number(pid), startTime, waiter };
}

/** Parses /proc/<pid>/stat after the command name, which may itself hold spaces or parens. */
export async function procStat(
  pid: number,
): Promise<{ state: string; ppid: number; startTime: string } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', ppid: Number(fields[1]), startTime: fields[19] ?? '' };
}

/** Whether the recorded process still runs (a zombie, or a new process on its pid, does not). */
export async function isAlive(proc: ProcessId): Promise<boolean> {
  const stat = await procStat(proc.pid);
  return stat !== undefined && stat.startTime === proc.startTime && stat.state !== 'Z' && stat.state !== 'X';
}

export async function readBoxExit(paths: BoxPaths): Promise<BoxExit | undefined> {
  const text = await readFile(paths.exit, 'utf8').catch(() => undefined);
  const code = Number(text?.trim());
  if (text === undefined || text.trim() === '' || !Number.isInteger(code)) return undefined;
  const status = (await readFile(paths.status, 'utf8').catch(() => '')).match(/"exit-code":\s*(\d+)/);
  return status ? { code: Number(status[1]), ran: true } : { code, ran: false };
}

/** The first non-empty line of a log (read from its first 4 KiB), for error messages. */
export async function firstLine(path: string): Promise<string | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  if (file === undefined) return undefined;
  try {
    const { buffer, bytesRead } = await file.read({ buffer: Buffer.alloc(4096) });
    return buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '');
  } finally {
    await file.close();
  }
}
