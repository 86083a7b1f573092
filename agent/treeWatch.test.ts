import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChangeKind, TreeWatch } from './treeWatch.js';

let dir: string;
let tree: TreeWatch | undefined;
let seen: { abs: string; kind: ChangeKind }[];
let waiters: (() => void)[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rc-treewatch-'));
  seen = [];
  waiters = [];
});
afterEach(async () => {
  tree?.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<void> {
  tree = new TreeWatch(
    dir,
    (abs, kind) => {
      seen.push({ abs: path.relative(dir, abs), kind });
      for (const wake of waiters.splice(0)) wake();
    },
    () => {},
  );
  await tree.start();
}

/** Waits until a change for `rel` has been seen. */
async function sees(rel: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!seen.some((c) => c.abs === rel)) {
    if (Date.now() > deadline) throw new Error(`no change for ${rel}; saw ${JSON.stringify(seen)}`);
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, deadline - Date.now());
    });
  }
}

describe('TreeWatch', () => {
  it('reports changes in nested directories that existed at the start', async () => {
    await mkdir(path.join(dir, 'a/b/c'), { recursive: true });
    await start();
    await writeFile(path.join(dir, 'a/b/c/file.txt'), 'x');
    await sees('a/b/c/file.txt');
  });

  it('watches directories created later, including what they held before their watch began', async () => {
    await start();
    // mkdir -p and a write in one go: the file usually lands before the new directory is watched.
    await mkdir(path.join(dir, 'new/deeper'), { recursive: true });
    await writeFile(path.join(dir, 'new/deeper/early.txt'), 'x');
    await sees('new/deeper/early.txt');
    await writeFile(path.join(dir, 'new/deeper/late.txt'), 'x');
    await sees('new/deeper/late.txt');
  });

  it('follows a renamed directory to its new name', async () => {
    await mkdir(path.join(dir, 'old'));
    await start();
    await rename(path.join(dir, 'old'), path.join(dir, 'moved'));
    await sees('moved');
    await writeFile(path.join(dir, 'moved/inside.txt'), 'x');
    await sees('moved/inside.txt');
  });

  it('does not follow symlinks out of the tree', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'rc-treewatch-outside-'));
    try {
      await symlink(outside, path.join(dir, 'link'));
      await start();
      await writeFile(path.join(outside, 'secret.txt'), 'x');
      await writeFile(path.join(dir, 'marker.txt'), 'x');
      await sees('marker.txt');
      expect(seen.some((c) => c.abs.includes('secret'))).toBe(false);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
