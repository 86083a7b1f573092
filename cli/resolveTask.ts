// Finding the task a user means: `rclaude task …` takes a full id or the start of one (resolveRef.ts).
import type { NodeApiClient } from '../sdk/client/nodeApiClient.js';
import type { Task } from '../sdk/taskWire.js';
import { ensureRef, type RefKind, type RefOwner, resolveRef } from './resolveRef.js';

const NAMING = { noun: 'task', listCommand: 'rclaude task list' };

/** Throws a usage error unless `ref` could be a task id or the start of one. */
export function ensureTaskRef(ref: string): void {
  ensureRef(NAMING, ref);
}

/** The task `ref` names (see resolveRef); throws CliError when none or several match. */
export function resolveTask(client: NodeApiClient, ref: string): Promise<Task> {
  const kind: RefKind<Task> = {
    ...NAMING,
    get: (id) => client.tasks.get(id),
    list: (owner) => allTasks(client, owner),
    id: (t) => t.id,
  };
  return resolveRef(kind, ref);
}

/** Every task of `owner`, over all pages of the list. */
async function allTasks(client: NodeApiClient, owner: RefOwner): Promise<Task[]> {
  const found: Task[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.tasks.list({ owner, limit: 200, ...(cursor ? { cursor } : {}) });
    found.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor);
  return found;
}
