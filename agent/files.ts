import type { Stats } from 'node:fs';
import { lstat, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FileEntry } from '../sdk/agentProtocol.js';
import { opError, type RpcPeer } from '../sdk/rpcPeer.js';
import { defineHandler, type Handlers } from './defineHandler.js';
import { archiveToChannel, readToChannel, writeFromChannel } from './fileTransfer.js';
import type { FileWatcher } from './fileWatcher.js';
import { fsError } from './fsError.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

/** lstat calls in flight at once while listing, so a huge directory does not flood the thread pool. */
const LIST_BATCH = 256;

/** Handlers for `files.*`, for one connection. Every path goes through `root` for confinement. */
export function fileHandlers(peer: RpcPeer, root: WorkspaceRoot, watcher: FileWatcher): Handlers {
  return {
    ...defineHandler('files.list', async ({ path: rel }) => {
      const dir = await root.resolve(rel);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        throw fsError(err, rel);
      }
      names.sort();
      const entries: FileEntry[] = [];
      for (let i = 0; i < names.length; i += LIST_BATCH) {
        const batch = names.slice(i, i + LIST_BATCH);
        const stats = await Promise.all(
          batch.map((name) => lstat(path.join(dir, name)).catch(() => undefined)),
        );
        // An entry deleted between readdir and lstat is simply not listed.
        stats.forEach((st, j) => {
          if (st) entries.push(toEntry(batch[j] as string, st));
        });
      }
      return { entries };
    }),

    ...defineHandler('files.stat', async ({ path: rel }) => {
      const abs = await root.entry(rel);
      try {
        return toEntry(path.basename(rel), await lstat(abs));
      } catch (err) {
        throw fsError(err, rel);
      }
    }),

    ...defineHandler('files.read', (params) => readToChannel(peer, root, params)),
    ...defineHandler('files.write', (params) => writeFromChannel(peer, root, params)),
    ...defineHandler('files.archive', (params) => archiveToChannel(peer, root, params)),

    ...defineHandler('files.delete', async ({ path: rel, recursive }) => {
      const abs = await root.entry(rel);
      if (abs === root.dir)
        throw opError('invalid_path', 'The workspace directory itself cannot be deleted.');
      try {
        const st = await lstat(abs);
        if (!st.isDirectory()) await unlink(abs);
        else if (recursive) await rm(abs, { recursive: true });
        else await rmdir(abs);
      } catch (err) {
        throw fsError(err, rel);
      }
      return {};
    }),

    ...defineHandler('files.rename', async ({ from, to, overwrite }) => {
      const src = await root.entry(from);
      const dest = await root.entry(to);
      if (src === root.dir || dest === root.dir) {
        throw opError('invalid_path', 'The workspace directory itself cannot be renamed.');
      }
      try {
        await lstat(src);
      } catch (err) {
        throw fsError(err, from);
      }
      // rename(2) silently replaces a file, so the check has to be ours. A file created in
      // between is replaced; Node has no portable no-replace rename.
      if (!overwrite && (await exists(dest, to)))
        throw opError('exists', `"${to}" already exists; pass overwrite.`);
      try {
        await rename(src, dest);
      } catch (err) {
        throw fsError(err, to);
      }
      return {};
    }),

    ...defineHandler('files.mkdir', async ({ path: rel }) => {
      await root.mkdirs(rel);
      return {};
    }),

    ...defineHandler('files.watch', async ({ watchId, path: rel }) => {
      await watcher.watch(watchId, rel);
      return {};
    }),

    ...defineHandler('files.unwatch', async ({ watchId }) => {
      watcher.unwatch(watchId);
      return {};
    }),
  };
}

export function toEntry(name: string, st: Stats): FileEntry {
  const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  return { name, type, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
}

async function exists(abs: string, rel: string): Promise<boolean> {
  try {
    await lstat(abs);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(err, rel);
  }
}
