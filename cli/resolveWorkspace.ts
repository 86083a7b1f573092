// Finding the workspace a user means: `rclaude ws …` takes a full id or the start of one (the list
// shows the first 8 characters), like git takes abbreviated commit ids.
import { ApiError } from '../sdk/client/apiError.js';
import type { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import type { Workspace } from '../sdk/workspaceWire.js';
import { CliError } from './cliError.js';

/** Exit code of a command given bad arguments or flags; 1 is left for failures. */
export const USAGE_EXIT_CODE = 2;

export function usageError(message: string): CliError {
  return new CliError(message, USAGE_EXIT_CODE);
}

/** The first 8 characters: what `ws list` shows and what is enough to name a workspace. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Throws a usage error unless `ref` could be a workspace id or the start of one. */
export function ensureWorkspaceRef(ref: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(ref))
    throw usageError(
      `<id> must be a workspace id or the start of one (see \`rclaude ws list\`), got "${ref}"`,
    );
}

/**
 * The workspace `ref` names: the one with exactly that id, else the only one of yours (or, for an
 * admin, anyone's) whose id starts with it. Throws CliError when none or several match.
 */
export async function resolveWorkspace(client: NodeApiClient, ref: string): Promise<Workspace> {
  ensureWorkspaceRef(ref);
  try {
    return await client.workspaces.get(ref);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  let matches = await matching(client, 'me', ref);
  if (matches.length === 0) matches = await matching(client, 'all', ref);
  if (matches.length === 1) return matches[0] as Workspace;
  if (matches.length === 0) throw new CliError(`workspace ${ref} not found; see \`rclaude ws list\``);
  throw usageError(
    `workspace id ${ref} is ambiguous: it starts ${matches.length} ids (${matches
      .map((w) => w.id)
      .join(', ')}); give more characters`,
  );
}

async function matching(client: NodeApiClient, owner: 'me' | 'all', prefix: string): Promise<Workspace[]> {
  try {
    const { items } = await client.workspaces.list({ owner });
    return items.filter((w) => w.id.startsWith(prefix));
  } catch (err) {
    // Only admins may list everyone's workspaces; for the rest "not found" is the right answer.
    if (owner === 'all' && err instanceof ApiError && err.status === 403) return [];
    throw err;
  }
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
