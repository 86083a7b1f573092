import type { NotificationOf } from '../sdk/agentProtocol.js';
import { opError } from '../sdk/rpcPeer.js';
import { UPLOAD_TEMP_PATTERN } from './fileTransfer.js';
import { fsError } from './fsError.js';
import { log } from './log.js';
import { TreeWatch } from './treeWatch.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

type Change = NotificationOf<'files.changed'>['changes'][number];

/** Changes are collected this long and sent as one notification, so a `git checkout` is not 10,000 frames. */
const BATCH_MS = 50;
/** The protocol's cap on changes per notification; past it, one "rescan" change is sent instead. */
const MAX_CHANGES = 1000;
const MAX_WATCHES = 64;

interface Watch {
  tree: TreeWatch;
  rel: string;
  pending: Map<string, Change['kind']>;
  overflow: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The `files.watch` subscriptions of one connection. Paths in notifications are relative to the
 * workspace. When more than MAX_CHANGES pile up in one batch, the notification carries a single
 * `rename` of the watched path itself, which tells the client to list it again.
 */
export class FileWatcher {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly root: WorkspaceRoot,
    private readonly send: (params: NotificationOf<'files.changed'>) => void,
  ) {}

  /** Starts (or restarts, for a known id) a recursive watch on `rel`. */
  async watch(watchId: string, rel: string): Promise<void> {
    const base = await this.root.resolve(rel);
    this.unwatch(watchId);
    if (this.watches.size >= MAX_WATCHES) {
      throw opError('busy', `This connection already has ${MAX_WATCHES} watches; remove one first.`);
    }
    const tree: TreeWatch = new TreeWatch(
      base,
      (abs, kind) => this.record(watchId, tree, abs, kind),
      (reason) => log('files.watch_partial', { watchId, reason }),
    );
    const w: Watch = { tree, rel, pending: new Map(), overflow: false, timer: undefined };
    this.watches.set(watchId, w);
    try {
      await tree.start();
    } catch (err) {
      this.unwatch(watchId);
      throw fsError(err, rel);
    }
  }

  /** Idempotent. */
  unwatch(watchId: string): void {
    const w = this.watches.get(watchId);
    if (!w) return;
    this.watches.delete(watchId);
    if (w.timer) clearTimeout(w.timer);
    w.tree.close();
  }

  closeAll(): void {
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }

  private record(watchId: string, tree: TreeWatch, abs: string, kind: Change['kind']): void {
    const w = this.watches.get(watchId);
    if (w?.tree !== tree) return;
    if (UPLOAD_TEMP_PATTERN.test(abs)) return;
    const rel = this.root.relative(abs);
    if (w.pending.size >= MAX_CHANGES && !w.pending.has(rel)) w.overflow = true;
    else if (w.pending.get(rel) !== 'rename') w.pending.set(rel, kind);
    w.timer ??= setTimeout(() => this.flush(watchId, w), BATCH_MS);
  }

  private flush(watchId: string, w: Watch): void {
    w.timer = undefined;
    const changes: Change[] = w.overflow
      ? [{ path: w.rel, kind: 'rename' }]
      : [...w.pending].map(([p, kind]) => ({ path: p, kind }));
    w.pending.clear();
    w.overflow = false;
    this.send({ watchId, changes });
  }
}
