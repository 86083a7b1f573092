import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { log } from './log.js';

/** Recompute at most this often: walking a big checkout costs real I/O. */
const REFRESH_MS = 60_000;
/** Stop counting after this many entries; the figure is then a lower bound. */
const MAX_ENTRIES = 200_000;
/** lstat calls in flight at once. */
const BATCH = 64;

/**
 * Bytes used on disk under some directories (like `du -s`, counting allocated blocks), walked
 * asynchronously so the event loop keeps serving keystrokes meanwhile. `current()` answers at
 * once with the last figure and starts a new walk when that one is stale.
 */
export class DiskUsage {
  private bytes = 0;
  private computedAt = Number.NEGATIVE_INFINITY;
  private walking: Promise<void> | undefined;

  constructor(
    private readonly dirs: string[],
    private readonly now: () => number = Date.now,
  ) {}

  current(): number {
    if (this.now() - this.computedAt >= REFRESH_MS) void this.refresh();
    return this.bytes;
  }

  /** Walks now unless a walk is running; resolves when the figure is fresh. */
  refresh(): Promise<void> {
    this.walking ??= this.walk()
      .then((bytes) => {
        this.bytes = bytes;
      })
      .catch((err: Error) => log('disk_usage.failed', { error: err.message }))
      .finally(() => {
        this.computedAt = this.now();
        this.walking = undefined;
      });
    return this.walking;
  }

  private async walk(): Promise<number> {
    // Hard links and overlapping dirs ($HOME inside the workspace, say) are counted once; only
    // directories and multiply-linked files need remembering for that.
    const seen = new Set<string>();
    let total = 0;
    let entries = 0;
    const queue = [...this.dirs];
    while (queue.length > 0 && entries < MAX_ENTRIES) {
      const batch = queue.splice(0, BATCH);
      const stats = await Promise.all(batch.map((p) => lstat(p).catch(() => undefined)));
      const dirs: string[] = [];
      stats.forEach((st, i) => {
        if (!st) return;
        if (st.isDirectory() || st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) return;
          seen.add(key);
        }
        entries++;
        total += st.blocks * 512;
        if (st.isDirectory()) dirs.push(batch[i] as string);
      });
      const listings = await Promise.all(dirs.map((d) => readdir(d).catch(() => [] as string[])));
      listings.forEach((names, i) => {
        for (const name of names) {
          if (entries + queue.length >= MAX_ENTRIES) return;
          queue.push(path.join(dirs[i] as string, name));
        }
      });
    }
    return total;
  }
}
