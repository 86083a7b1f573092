// Finding the task a user means: `rclaude task …` takes a full id or the start of one (the list
// shows the first 8 characters), as `rclaude ws` does for workspaces (resolveWorkspace.ts).
import { ApiError } from '../sdk/client/apiError.js';
import type { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import type { Task } from '../sdk/taskWire.js';
import { CliError } from './cliError.js';
import { usageError } from './resolveWorkspace.js';

/** Throws a usage error unless `ref` could be a task id or the start of one. */
export function ensureTaskRef(ref: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(ref))
    throw usageError(`<id> must be a task id or the start of one (see \`rclaude task list\`), got "${ref}"`);
}

/**
 * The task `ref` names: the one with exactly that id, else the only one of yours (or, for an
 * admin, anyone's) whose id starts with it. Throws CliError when none or several match.
 */
export async function resolveTask(client: NodeApiClient, ref: string): Promise<Task> {
  ensureTaskRef(ref);
  try {
    return await client.tasks.get(ref);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  let matches = await matching(client, 'me', ref);
  if (matches.length === 0) matches = await matching(client, 'all', ref);
  if (matches.length === 1) return matches[0] as Task;
  if (matches.length === 0) throw new CliError(`task ${ref} not found; see \`rclaude task list\``);
  throw usageError(
    `task id ${ref} is ambiguous: it starts ${matches.length} ids (${matches
      .map((t) => t.id)
      .join(', ')}); give more characters`,
  );
}

/** Every task of `owner` whose id starts with `prefix`, over all pages of the list. */
async function matching(client: NodeApiClient, owner: 'me' | 'all', prefix: string): Promise<Task[]> {
  const found: Task[] = [];
  let cursor: string | undefined;
  try {
    do {
      const page = await client.tasks.list({ owner, limit: 200, ...(cursor ? { cursor } : {}) });
      found.push(...page.items.filter((t) => t.id.startsWith(prefix)));
      cursor = page.next ?? undefined;
    } while (cursor);
  } catch (err) {
    // Only admins may list everyone's tasks; for the rest "not found" is the right answer.
    if (owner === 'all' && err instanceof ApiError && err.status === 403) return [];
    throw err;
  }
  return found;
}
