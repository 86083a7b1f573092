import { type FSWatcher, watch } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export type ChangeKind = 'change' | 'rename';

/** inotify watches are a per-user kernel budget (fs.inotify.max_user_watches); one tree takes at most this many. */
const MAX_DIRECTORIES = 10_000;

/**
 * A recursive watch made of one inotify watch per directory. Node 20's `fs.watch(dir,
 * { recursive: true })` on Linux (lib/internal/fs/recursive_watch.js) instead walks the tree
 * synchronously and watches every file: a checkout with node_modules stalls the event loop for
 * seconds and can exhaust the inotify budget. Here the walk is asynchronous and symlinks are not
 * followed. A directory that appears later is watched too, and what it already holds is reported,
 * since files created before its watch started would otherwise go unseen.
 */
export class TreeWatch {
  private readonly dirs = new Map<string, FSWatcher>();
  private closed = false;
  private full = false;

  constructor(
    private readonly base: string,
    private readonly onChange: (abs: string, kind: ChangeKind) => void,
    /** Called once when the tree is too big (or the kernel budget is spent) to watch all of it. */
    private readonly onPartial: (reason: string) => void,
  ) {}

  /** Resolves once every directory that exists now is watched. Throws when `base` cannot be watched. */
  async start(): Promise<void> {
    if (!(await lstat(this.base)).isDirectory()) {
      this.watchOne(this.base, (kind) => this.onChange(this.base, kind));
      return;
    }
    await this.addTree(this.base, false);
  }

  close(): void {
    this.closed = true;
    for (const w of this.dirs.values()) w.close();
    this.dirs.clear();
  }

  private async addTree(top: string, announce: boolean): Promise<void> {
    const queue = [top];
    while (queue.length > 0 && !this.closed) {
      const dir = queue.shift() as string;
      if (this.dirs.has(dir)) continue;
      if (this.dirs.size >= MAX_DIRECTORIES) return this.partial(`more than ${MAX_DIRECTORIES} directories`);
      try {
        this.watchOne(dir, (kind, name) => this.event(dir, kind, name));
      } catch (err) {
        if (dir === top && top === this.base) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC' || code === 'EMFILE')
          return this.partial(`the kernel's inotify limit (${code})`);
        continue; // gone meanwhile
      }
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const abs = path.join(dir, entry.name);
        if (announce) this.onChange(abs, 'rename');
        // Dirent.isDirectory() is false for a symlink, so links are reported but not followed.
        if (entry.isDirectory()) queue.push(abs);
      }
    }
  }

  private watchOne(target: string, listener: (kind: ChangeKind, name: string | null) => void): void {
    const w = watch(target, (kind, name) => listener(kind as ChangeKind, name?.toString() ?? null));
    w.on('error', () => this.drop(target));
    this.dirs.set(target, w);
  }

  private event(dir: string, kind: ChangeKind, name: string | null): void {
    if (this.closed) return;
    const abs = name ? path.join(dir, name) : dir;
    this.onChange(abs, kind);
    if (kind !== 'rename') return;
    // Something appeared or went away: watch a new directory, forget a vanished one.
    lstat(abs).then(
      (st) => {
        if (st.isDirectory() && !this.dirs.has(abs)) void this.addTree(abs, true);
      },
      () => this.drop(abs),
    );
  }

  /** Stops watching `abs` and everything below it. */
  private drop(abs: string): void {
    if (!this.dirs.has(abs)) return;
    for (const [dir, w] of this.dirs) {
      if (dir === abs || dir.startsWith(`${abs}/`)) {
        w.close();
        this.dirs.delete(dir);
      }
    }
  }

  private partial(reason: string): void {
    if (this.full) return;
    this.full = true;
    this.onPartial(reason);
  }
}
