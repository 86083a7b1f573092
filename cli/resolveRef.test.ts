import { describe, expect, it } from 'vitest';
import { ApiError } from '../sdk/client/apiError.js';
import { CliError } from './cliError.js';
import { type RefKind, type RefOwner, resolveRef } from './resolveRef.js';

interface Thing {
  id: string;
  owner: string;
}

const MINE: Thing[] = [
  { id: 'ab12cd34', owner: 'me' },
  { id: 'ab99ff00', owner: 'me' },
  { id: 'c0ffee00', owner: 'me' },
];
const OTHERS: Thing[] = [{ id: 'd00d0000', owner: 'ann' }];

/** Things held in memory the way the server holds them: `others` listable by admins only. */
function things(opts: { admin: boolean }) {
  const calls: string[] = [];
  const kind: RefKind<Thing> = {
    noun: 'thing',
    listCommand: 'rclaude thing list',
    async get(id) {
      calls.push(`get ${id}`);
      const found = [...MINE, ...OTHERS].find((t) => t.id === id);
      if (!found || (found.owner !== 'me' && !opts.admin))
        throw new ApiError(404, 'not_found', 'The thing was not found.');
      return found;
    },
    async list(owner: RefOwner) {
      calls.push(`list ${owner}`);
      if (owner === 'me') return MINE;
      if (!opts.admin) throw new ApiError(403, 'forbidden', 'Only admins may list every thing.');
      return [...MINE, ...OTHERS];
    },
    id: (t) => t.id,
  };
  return { kind, calls };
}

async function failure(p: Promise<unknown>): Promise<CliError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

describe('resolveRef', () => {
  it('an exact id is fetched without listing', async () => {
    const { kind, calls } = things({ admin: false });
    expect(await resolveRef(kind, 'ab99ff00')).toBe(MINE[1]);
    expect(calls).toEqual(['get ab99ff00']);
  });

  it('a prefix of exactly one of yours names it', async () => {
    const { kind, calls } = things({ admin: false });
    expect(await resolveRef(kind, 'c0f')).toBe(MINE[2]);
    expect(calls).toEqual(['get c0f', 'list me']);
  });

  it("an admin's prefix that none of theirs starts is looked up among everyone's", async () => {
    const { kind, calls } = things({ admin: true });
    expect(await resolveRef(kind, 'd00')).toBe(OTHERS[0]);
    expect(calls).toEqual(['get d00', 'list me', 'list all']);
  });

  it('a prefix of several is a usage error listing them', async () => {
    const err = await failure(resolveRef(things({ admin: false }).kind, 'ab'));
    expect(err.message).toBe(
      'thing id ab is ambiguous: it starts 2 ids (ab12cd34, ab99ff00); give more characters',
    );
    expect(err.exitCode).toBe(2);
  });

  it('nothing matching is "not found" (exit 1), also when everyone\'s may not be listed', async () => {
    for (const admin of [false, true]) {
      const err = await failure(resolveRef(things({ admin }).kind, 'ffff'));
      expect(err.message).toBe('thing ffff not found; see `rclaude thing list`');
      expect(err.exitCode).toBe(1);
    }
  });

  it.each(['', 'a/b', 'a b', 'x'.repeat(65)])('%j is refused before asking the server', async (ref) => {
    const { kind, calls } = things({ admin: true });
    const err = await failure(resolveRef(kind, ref));
    expect(err.message).toBe(
      `<id> must be a thing id or the start of one (see \`rclaude thing list\`), got "${ref}"`,
    );
    expect(err.exitCode).toBe(2);
    expect(calls).toEqual([]);
  });

  it('other server errors pass through unchanged', async () => {
    const { kind } = things({ admin: false });
    const down = new ApiError(0, 'unreachable', 'The server could not be reached.');
    await expect(resolveRef({ ...kind, get: () => Promise.reject(down) }, 'ab')).rejects.toBe(down);
    await expect(resolveRef({ ...kind, list: () => Promise.reject(down) }, 'ab')).rejects.toBe(down);
  });
});
