// Finding the resource a user means from what they typed: a full id or the start of one (lists show
// the first 8 characters), like git takes abbreviated commit ids. One lookup for every kind of
// resource the CLI names this way (resolveTask.ts, resolveWorkspace.ts).
import { ApiError } from '../sdk/client/apiError.js';
import { CliError, usageError } from './cliError.js';

/** Whose resources to look among: the caller's own, or everyone's (admins only). */
export type RefOwner = 'me' | 'all';

/** How to look up one kind of resource. */
export interface RefKind<T> {
  /** What the user calls it: "task", "workspace". */
  noun: string;
  /** The command that lists them, named in messages: "rclaude task list". */
  listCommand: string;
  /** The resource with exactly this id; throws ApiError 404 when there is none. */
  get(id: string): Promise<T>;
  /** Every resource of `owner`; throws ApiError 403 when the caller may not list them. */
  list(owner: RefOwner): Promise<readonly T[]>;
  id(resource: T): string;
}

/** The first 8 characters: what lists show and what is enough to name a task or a workspace. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Throws a usage error unless `ref` could be an id or the start of one. */
export function ensureRef(kind: Pick<RefKind<unknown>, 'noun' | 'listCommand'>, ref: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(ref))
    throw usageError(
      `<id> must be a ${kind.noun} id or the start of one (see \`${kind.listCommand}\`), got "${ref}"`,
    );
}

/**
 * The resource `ref` names: the one with exactly that id, else the only one of yours (or, for an
 * admin, anyone's) whose id starts with it. Throws a usage error (exit 2) for input that is no id
 * or a prefix of several, a CliError (exit 1) when nothing matches, and any other ApiError as is.
 */
export async function resolveRef<T>(kind: RefKind<T>, ref: string): Promise<T> {
  ensureRef(kind, ref);
  try {
    return await kind.get(ref);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  let matches = await matching(kind, 'me', ref);
  if (matches.length === 0) matches = await matching(kind, 'all', ref);
  if (matches.length === 1) return matches[0] as T;
  if (matches.length === 0) throw new CliError(`${kind.noun} ${ref} not found; see \`${kind.listCommand}\``);
  throw usageError(
    `${kind.noun} id ${ref} is ambiguous: it starts ${matches.length} ids (${matches
      .map(kind.id)
      .join(', ')}); give more characters`,
  );
}

async function matching<T>(kind: RefKind<T>, owner: RefOwner, prefix: string): Promise<T[]> {
  try {
    return (await kind.list(owner)).filter((r) => kind.id(r).startsWith(prefix));
  } catch (err) {
    // Only admins may list everyone's; for the rest "not found" is the right answer.
    if (owner === 'all' && err instanceof ApiError && err.status === 403) return [];
    throw err;
  }
}
