// A minimal Debian root filesystem made with debootstrap, the base of the workspace image that
// `rclaude image build` makes without any registry: only a Debian mirror (or a local copy of one)
// must be reachable. The tarball is cached in the build's cache directory, keyed by the suite,
// variant and package list, so it is made once per machine (about a minute).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export interface RootfsRecipe {
  suite: string;
  variant: 'minbase';
  /** Extra packages for debootstrap's --include, beyond the variant's own. */
  packages: readonly string[];
}

/** Hex sha256 of what decides the root filesystem's content (the mirror does not). */
export function recipeHash(recipe: RootfsRecipe): string {
  const key = JSON.stringify({ ...recipe, packages: [...recipe.packages].sort() });
  return createHash('sha256').update(key).digest('hex');
}

export interface RootfsOptions {
  cacheDir: string;
  mirror?: string;
  /** Called with one short line each time debootstrap moves on to another phase. */
  progress?: (line: string) => void;
}

/**
 * Path of the cached tarball for `recipe`, made with debootstrap when missing. Needs root (for
 * debootstrap's chroot and device nodes) and the debootstrap package. The caller serialises
 * concurrent calls; a half-written tarball is never visible (written aside, then renamed).
 */
export async function ensureRootfsTarball(recipe: RootfsRecipe, opts: RootfsOptions): Promise<string> {
  const tarball = join(
    opts.cacheDir,
    `rootfs-${recipe.suite}-${recipe.variant}-${recipeHash(recipe).slice(0, 16)}.tar`,
  );
  if (await stat(tarball).catch(() => undefined)) return tarball;
  if (process.getuid?.() !== 0) {
    throw new Error(`Making the Debian root filesystem with debootstrap needs root; run this as root.`);
  }
  await mkdir(opts.cacheDir, { recursive: true });
  const work = await mkdtemp(join(opts.cacheDir, 'debootstrap-'));
  const target = join(work, 'rootfs');
  try {
    await debootstrap(recipe, target, opts);
    // Package lists and downloaded .debs are 100 MB the image never needs.
    for (const dir of ['var/lib/apt/lists', 'var/cache/apt']) {
      await rm(join(target, dir), { recursive: true, force: true });
      await mkdir(join(target, dir), { recursive: true });
    }
    opts.progress?.('packing the root filesystem');
    const partial = join(work, 'rootfs.tar');
    await runTool('tar', ['--numeric-owner', '--xattrs', '-C', target, '-cf', partial, '.']);
    await rename(partial, tarball);
    return tarball;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function debootstrap(recipe: RootfsRecipe, target: string, opts: RootfsOptions): Promise<void> {
  const mirror = opts.mirror ?? DEFAULT_DEBIAN_MIRROR;
  const args = [
    `--variant=${recipe.variant}`,
    `--include=${recipe.packages.join(',')}`,
    recipe.suite,
    target,
    mirror,
  ];
  // debootstrap prints "I: Retrieving libc6 …" for every package; one line per phase is enough to
  // see where it is.
  let phase = '';
  const onLine = (line: string) => {
    const verb = /^I: (\w+)/.exec(line)?.[1];
    if (!verb || verb === phase) return;
    phase = verb;
    opts.progress?.(`debootstrap: ${line.slice(3).trim()}`);
  };
  try {
    await runTool('debootstrap', args, onLine);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('debootstrap is not installed; install it with `apt-get install debootstrap`.');
    }
    // debootstrap prints one line on failure and keeps the detail in its own log.
    const log = await readFile(join(target, 'debootstrap', 'debootstrap.log'), 'utf8').catch(() => '');
    const tail = log.trim().split('\n').slice(-20).join('\n');
    throw new Error(`debootstrap from ${mirror} failed: ${(err as Error).message}\n${tail}`, { cause: err });
  }
}

/** Runs a tool, handing each line of its stdout to `onLine`; rejects with the end of its stderr. */
function runTool(cmd: string, args: string[], onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => onLine?.(line));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const why = stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${code ?? signal}`;
      reject(new Error(`${cmd} failed: ${why}`));
    });
  });
}
