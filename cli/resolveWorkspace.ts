// Finding the workspace a user means: `rclaude ws …` takes a full id or the start of one
// (resolveRef.ts).
import type { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import type { Workspace } from '../sdk/workspaceWire.js';
import { CliError } from './cliError.js';
import { ensureRef, resolveRef, shortId } from './resolveRef.js';

const NAMING = { noun: 'workspace', listCommand: 'rclaude ws list' };

/** Throws a usage error unless `ref` could be a workspace id or the start of one. */
export function ensureWorkspaceRef(ref: string): void {
  ensureRef(NAMING, ref);
}

/** The workspace `ref` names (see resolveRef); throws CliError when none or several match. */
export function resolveWorkspace(client: NodeApiClient, ref: string): Promise<Workspace> {
  return resolveRef<Workspace>(
    {
      ...NAMING,
      get: (id) => client.workspaces.get(id),
      list: async (owner) => (await client.workspaces.list({ owner })).items,
      id: (w) => w.id,
    },
    ref,
  );
}

const NOT_RUNNING: Record<Exclude<Workspace['status'], 'running'>, string> = {
  pending: 'has not been started',
  starting: 'is still starting',
  stopping: 'is stopping',
  stopped: 'is stopped',
  failed: 'failed',
};

/** Throws CliError unless the workspace runs: files and terminals need its agent. */
export function ensureRunning(w: Workspace): void {
  if (w.status === 'running') return;
  const s = shortId(w.id);
  const start = `\`rclaude ws start ${s} --wait\``;
  throw new CliError(
    `workspace ${s} ${NOT_RUNNING[w.status]}; ${w.status === 'starting' ? `wait for it with ${start}` : `start it with ${start}`}`,
  );
}
