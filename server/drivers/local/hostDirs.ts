import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DriverError } from '../runtimeDriver.js';
import { workspacesDir } from './boxPaths.js';

function needsRoot(path: string, err: unknown): DriverError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new DriverError({
    reason: 'unavailable',
    userMessage: `The local runtime could not prepare ${path} (${code}); it must run as root to give each workspace its own user.`,
    cause: err,
  });
}

/**
 * Makes `<dataDir>/workspaces` reachable. bubblewrap runs as the workspace's uid and opens the
 * bind sources with that uid's rights, so every directory above a workspace's volumes must be
 * searchable (x) by others. The data dir itself gets o+x if it lacks it (search without read:
 * nobody can list it); a non-searchable ancestor above it is the operator's to fix.
 * @throws DriverError `unavailable` naming the directory that blocks the way.
 */
export async function ensureDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o711 });
    const mode = (await stat(dataDir)).mode & 0o7777;
    if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001);
    await ensureRootDir(workspacesDir(dataDir), 0o711);
  } catch (err) {
    throw err instanceof DriverError ? err : needsRoot(dataDir, err);
  }
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new DriverError({
        reason: 'unavailable',
        userMessage:
          `Workspace users cannot reach the data dir ${dataDir}: ${dir} is not searchable by others ` +
          `(mode ${(mode & 0o777).toString(8)}). Put RC_DATA_DIR elsewhere, e.g. /var/lib/remote-claude.`,
      });
    }
    if (dir === dirname(dir)) break;
  }
}

/** A root-owned directory with exactly `mode`. */
export async function ensureRootDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode);
}

/**
 * A directory owned by the workspace's uid and private to it (0700). Only the directory itself
 * is chowned: files below it already belong to the box that wrote them. Every directory above it
 * must be searchable by others, or bwrap (running as that uid) cannot bind it.
 * @throws DriverError `unavailable` when not running as root.
 */
export async function ensureOwnedDir(path: string, uid: number): Promise<void> {
  try {
    // Parents get the default mode: the box's uid must be able to pass through them.
    await mkdir(dirname(path), { recursive: true });
    await mkdir(path, { recursive: true, mode: 0o700 });
    const st = await stat(path);
    if (st.uid !== uid || st.gid !== uid) await chown(path, uid, uid);
    if ((st.mode & 0o7777) !== 0o700) await chmod(path, 0o700);
  } catch (err) {
    throw needsRoot(path, err);
  }
}
