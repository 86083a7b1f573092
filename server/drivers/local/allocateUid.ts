import { readdir, stat } from 'node:fs/promises';
import { WORKSPACE_ID_PATTERN } from '../ensureValidSpec.js';
import { boxPaths, readBoxRecord, workspacesDir } from './boxPaths.js';

/**
 * Picks the host uid for a workspace that has none recorded yet: the lowest `uidBase + n`
 * (n >= 1) that no other workspace under the data dir uses. "Uses" covers both the uid in a
 * workspace's record and the owner of its volumes, because a box removed with `keepVolume`
 * leaves files owned by its old uid behind; when those files are this workspace's own, their
 * owner is reused so the recreated box can read them.
 *
 * Callers serialise calls: two concurrent allocations could pick the same uid. One control plane
 * per data dir is assumed.
 */
export async function allocateUid(dataDir: string, workspaceId: string, uidBase: number): Promise<number> {
  const own = boxPaths(dataDir, workspaceId);
  const used = new Set<number>();
  const names = await readdir(workspacesDir(dataDir)).catch(() => [] as string[]);
  for (const name of names) {
    if (name === workspaceId || !WORKSPACE_ID_PATTERN.test(name)) continue;
    for (const uid of await uidsOf(dataDir, name)) used.add(uid);
  }
  const kept = await ownerOf(own.workspace);
  if (kept !== undefined && kept > uidBase && !used.has(kept)) return kept;
  let uid = uidBase + 1;
  while (used.has(uid)) uid++;
  return uid;
}

async function uidsOf(dataDir: string, workspaceId: string): Promise<number[]> {
  const paths = boxPaths(dataDir, workspaceId);
  const uids = [(await readBoxRecord(paths))?.uid, await ownerOf(paths.workspace), await ownerOf(paths.home)];
  return uids.filter((u): u is number => u !== undefined);
}

async function ownerOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.uid;
}
