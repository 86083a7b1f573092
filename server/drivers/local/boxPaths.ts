import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UnixWorkspaceSpec } from '../runtimeDriver.js';

/**
 * Where one workspace lives on the host:
 *
 *     <dataDir>/workspaces/<id>/            root 0700 (the box reaches its volumes through boxStage.ts)
 *       workspace/  home/                   the workspace uid, 0700: bound into the box
 *       runtime/                            root 0700: driver-private
 *         box.json (0600, holds the env and so the agent token), pid, exit, status.json,
 *         agent.log (the box's stdout and stderr), bwrap.args, passwd, group, hosts
 */
export interface BoxPaths {
  root: string;
  workspace: string;
  home: string;
  runtime: string;
  /** The persisted `BoxRecord`. */
  record: string;
  /** bubblewrap's options, NUL-separated (read by bwrap through `--args`). */
  args: string;
  passwd: string;
  group: string;
  hosts: string;
  /** "<pid> <start time in clock ticks>" of the box's main process, written by the launcher. */
  pid: string;
  /** The main process's exit status, written by the launcher's waiting shell. */
  exit: string;
  /** bwrap's --json-status-fd output: an "exit-code" line appears only if the command ran. */
  status: string;
  /** Written by `stop` so `inspect` can say the box was stopped on request. */
  stopRequested: string;
  log: string;
  previousLog: string;
  /** Errors of the launcher itself (it has no other place to report them). */
  launchLog: string;
}

export function workspacesDir(dataDir: string): string {
  return join(dataDir, 'workspaces');
}

export function boxPaths(dataDir: string, workspaceId: string): BoxPaths {
  const root = join(workspacesDir(dataDir), workspaceId);
  const runtime = join(root, 'runtime');
  const at = (name: string) => join(runtime, name);
  return {
    root,
    workspace: join(root, 'workspace'),
    home: join(root, 'home'),
    runtime,
    record: at('box.json'),
    args: at('bwrap.args'),
    passwd: at('passwd'),
    group: at('group'),
    hosts: at('hosts'),
    pid: at('pid'),
    exit: at('exit'),
    status: at('status.json'),
    stopRequested: at('stop-requested'),
    log: at('agent.log'),
    previousLog: at('agent.log.1'),
    launchLog: at('launch.log'),
  };
}

/** What `create` persists, so any driver instance on the same data dir can run the box. */
export interface BoxRecord {
  version: 1;
  workspaceId: string;
  /** Host uid (and gid) the box runs as; also its uid inside the box. */
  uid: number;
  spec: UnixWorkspaceSpec;
}

export async function readBoxRecord(paths: BoxPaths): Promise<BoxRecord | undefined> {
  const text = await readFile(paths.record, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as BoxRecord;
  } catch {
    // A torn write cannot happen (writes are renamed into place); a hand-edited file can.
    return undefined;
  }
}

/** Writes the record atomically and readable by root only: the spec's env holds a secret. */
export async function writeBoxRecord(paths: BoxPaths, record: BoxRecord): Promise<void> {
  await writePrivate(paths.record, JSON.stringify(record, null, 2));
}

/** Writes a root-only (0600) file atomically via a temporary file and rename. */
export async function writePrivate(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  // A leftover from a crash may carry another mode; `mode` only applies to new files.
  await rm(tmp, { force: true });
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}
