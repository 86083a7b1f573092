// A minimal Debian root filesystem made with debootstrap, for test images: no registry can be
// pulled here, but Debian's mirror is reachable. The tarball is cached under CACHE_DIR, keyed by
// the suite, variant and package list, so it is made once per machine (about a minute).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CACHE_DIR = '/var/cache/remote-claude-test';
const MIRROR = 'http://deb.debian.org/debian';

export interface RootfsRecipe {
  suite: string;
  variant: 'minbase';
  /** Extra packages for debootstrap's --include, beyond the variant's own. */
  packages: readonly string[];
}

/** Hex sha256 of what decides the root filesystem's content. */
export function recipeHash(recipe: RootfsRecipe): string {
  const key = JSON.stringify({ ...recipe, packages: [...recipe.packages].sort() });
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Path of the cached tarball for `recipe`, made with debootstrap when missing. Needs root (for
 * debootstrap's chroot and device nodes) and the debootstrap package. The caller serialises
 * concurrent calls; a half-written tarball is never visible (written aside, then renamed).
 */
export async function ensureRootfsTarball(recipe: RootfsRecipe): Promise<string> {
  const tarball = join(
    CACHE_DIR,
    `rootfs-${recipe.suite}-${recipe.variant}-${recipeHash(recipe).slice(0, 16)}.tar`,
  );
  if (await stat(tarball).catch(() => undefined)) return tarball;
  if (process.getuid?.() !== 0) throw new Error(`Making ${tarball} with debootstrap needs root.`);
  await mkdir(CACHE_DIR, { recursive: true });
  const work = await mkdtemp(join(CACHE_DIR, 'debootstrap-'));
  const target = join(work, 'rootfs');
  try {
    await debootstrap(recipe, target);
    // Package lists and downloaded .debs are 100 MB the image never needs.
    for (const dir of ['var/lib/apt/lists', 'var/cache/apt']) {
      await rm(join(target, dir), { recursive: true, force: true });
      await mkdir(join(target, dir), { recursive: true });
    }
    const partial = join(work, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '--xattrs', '-C', target, '-cf', partial, '.'], {
      timeout: 300_000,
    });
    await rename(partial, tarball);
    return tarball;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function debootstrap(recipe: RootfsRecipe, target: string): Promise<void> {
  const args = [
    `--variant=${recipe.variant}`,
    `--include=${recipe.packages.join(',')}`,
    recipe.suite,
    target,
    MIRROR,
  ];
  try {
    await run('debootstrap', args, { timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'debootstrap is not installed; test/setupHost.sh installs it (apt-get install debootstrap).',
      );
    }
    // debootstrap prints one line on failure and keeps the detail in its own log.
    const log = await readFile(join(target, 'debootstrap', 'debootstrap.log'), 'utf8').catch(() => '');
    const tail = log.trim().split('\n').slice(-20).join('\n');
    throw new Error(`debootstrap ${args.join(' ')} failed: ${e.stderr?.trim() ?? e.message}\n${tail}`, {
      cause: err,
    });
  }
}
