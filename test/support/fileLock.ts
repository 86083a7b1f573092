// A lock between processes on one machine, for test setup that several Vitest workers may start at
// once (building an image twice at the same time wastes minutes and races on the tag). The lock is
// a file holding the owner's pid, created atomically with link(2); a lock whose owner died (a killed
// test run) is taken over.
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Runs `fn` while holding the lock at `path`, then releases it. Waits for another holder to finish
 * (checking every 250 ms: a holder in another process sends no event) and throws after `timeoutMs`.
 */
export async function withFileLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const mine = `${path}.${process.pid}.${randomUUID()}`;
  await writeFile(mine, String(process.pid));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await link(mine, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number(await readFile(path, 'utf8').catch(() => '0'));
      if (holder > 0 && !isAlive(holder)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${path} (held by pid ${holder}).`);
      }
      await delay(250);
    }
  } finally {
    await rm(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
