import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileLock } from './fileLock.js';

describe('withFileLock', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rc-lock-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs one holder at a time and releases the lock after each', async () => {
    const lock = join(dir, 'a.lock');
    const order: string[] = [];
    const hold = (id: string) =>
      withFileLock(lock, 10_000, async () => {
        order.push(`${id} in`);
        await new Promise((r) => setImmediate(r));
        order.push(`${id} out`);
        return id;
      });
    expect(await Promise.all([hold('a'), hold('b')])).toEqual(['a', 'b']);
    // Whichever got it first left before the other came in.
    const first = order[0]?.[0];
    const second = first === 'a' ? 'b' : 'a';
    expect(order).toEqual([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
    await expect(readFile(lock)).rejects.toThrow(/ENOENT/);
  });

  it('takes over a lock whose holder is dead and times out on a live one', async () => {
    const lock = join(dir, 'b.lock');
    // No process has pid 2^22 + 1 (above Linux's pid_max limit).
    await writeFile(lock, String(4194305));
    expect(await withFileLock(lock, 5_000, async () => 'taken')).toBe('taken');
    await writeFile(lock, String(process.ppid));
    await expect(withFileLock(lock, 300, async () => 'never')).rejects.toThrow(/Timed out/);
    await rm(lock);
  });
});
