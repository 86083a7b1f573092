// The directories of the file tree that have been opened, each listed on demand (the tree loads
// a directory when it is first expanded, never the whole workspace). `refresh` lists loaded
// directories again; listings of directories that no longer exist are dropped.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../../sdk/client/apiError.js';
import { notifyError } from '../../lib/notify.js';
import { listDir, parentOf, type WorkspaceFile } from './fileApi.js';

export type Listings = Record<string, WorkspaceFile[]>;

const byKindThenName = (a: WorkspaceFile, b: WorkspaceFile) =>
  Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name);

/** Keeps a listing only while its parent's listing still shows it as a directory. */
function prune(all: Listings): Listings {
  const kept: Listings = {};
  const dirs = Object.keys(all).sort((a, b) => a.split('/').length - b.split('/').length);
  for (const dir of dirs) {
    const entries = all[dir] as WorkspaceFile[];
    if (dir === '') kept[dir] = entries;
    else if (kept[parentOf(dir)]?.some((e) => e.path === dir && e.type === 'dir')) kept[dir] = entries;
  }
  return kept;
}

export function useDirListings(workspaceId: string) {
  const [listings, setListings] = useState<Listings>({});
  const [loading, setLoading] = useState<Record<string, boolean>>({});
  const [rootError, setRootError] = useState<string | null>(null);
  const current = useRef(listings);
  current.current = listings;

  const load = useCallback(
    async (dir: string) => {
      setLoading((l) => ({ ...l, [dir]: true }));
      try {
        const { entries } = await listDir(workspaceId, dir);
        setListings((prev) => prune({ ...prev, [dir]: [...entries].sort(byKindThenName) }));
        if (dir === '') setRootError(null);
      } catch (e) {
        if (dir === '') setRootError(e instanceof Error ? e.message : String(e));
        else if (e instanceof ApiError && e.status === 404)
          setListings((prev) => {
            const { [dir]: _gone, ...rest } = prev;
            return prune(rest);
          });
        else notifyError(e, `Could not list ${dir}`);
      } finally {
        setLoading((l) => ({ ...l, [dir]: false }));
      }
    },
    [workspaceId],
  );

  /** Lists again the given directories (those that are loaded), or every loaded one. */
  const refresh = useCallback(
    (dirs?: string[]) => {
      const loaded = Object.keys(current.current);
      const targets = dirs ? [...new Set(dirs)].filter((d) => loaded.includes(d)) : loaded;
      return Promise.all(targets.map(load));
    },
    [load],
  );

  useEffect(() => {
    void load('');
  }, [load]);

  return { listings, loading, rootError, load, refresh };
}
