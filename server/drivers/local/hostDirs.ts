import { chmod, chown, mkdir, stat } from 'node:fs/promises';
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
 * Creates the data dir (0700 when new) and `<dataDir>/workspaces` (root 0700). Nothing above a
 * workspace's volumes needs to be reachable by its uid: the box stages its bind sources as root
 * (boxStage.ts), so RC_DATA_DIR may live anywhere, below /root or a `mktemp -d` directory too.
 * @throws DriverError `unavailable` when not running as root.
 */
export async function ensureDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await ensureRootDir(workspacesDir(dataDir), 0o700);
  } catch (err) {
    throw needsRoot(dataDir, err);
  }
}

/** A root-owned directory with exactly `mode`. */
export async function ensureRootDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode);
}

/**
 * A directory owned by the workspace's uid and private to it (0700). Only the directory itself
 * is chowned: files below it already belong to the box that wrote them.
 * @throws DriverError `unavailable` when not running as root.
 */
export async function ensureOwnedDir(path: string, uid: number): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
    const st = await stat(path);
    if (st.uid !== uid || st.gid !== uid) await chown(path, uid, uid);
    if ((st.mode & 0o7777) !== 0o700) await chmod(path, 0o700);
  } catch (err) {
    throw needsRoot(path, err);
  }
}
