// A watch-backed cache of one kind of object (client-go's reflector): list, then watch from the
// list's resourceVersion; an expired resourceVersion (410 Gone) lists again; a watch that ends is
// resumed from the last resourceVersion seen; one that stays silent past its timeout is cut and
// listed again. That last one is why this is not client-node's ListWatch: KubeSpawner's
// reflector is known to stop receiving events silently on a connection that stays open
// (jupyterhub/kubespawner#423), and ListWatch can neither ask the server to end its watches
// (timeoutSeconds) nor notice one that went quiet; it also stops for good on any other error.
import { EventEmitter } from 'node:events';
import { type KubeConfig, type KubernetesObject, Watch } from '@kubernetes/client-node';

export interface ReflectorOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection's API path, e.g. /api/v1/namespaces/ns/pods. */
  path: string;
  labelSelector: string;
  /** One list call of the same collection and selector. */
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /**
   * The server is asked to end each watch after this many seconds (it resumes at once); a watch
   * from which nothing at all arrives for this long plus `graceMs` is taken as silently broken.
   */
  watchTimeoutSeconds: number;
  graceMs?: number;
  /** Wait after a failed list or watch before trying again; doubles up to 10 s. */
  retryMs?: number;
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  /** Watches cut because they went silent. */
  silentRestarts: number;
  /** Relists because the server said the resourceVersion expired. */
  gone: number;
}

export class Reflector<T extends KubernetesObject> {
  readonly stats: ReflectorStats = { lists: 0, watches: 0, silentRestarts: 0, gone: 0 };
  private readonly objects = new Map<string, T>();
  private readonly events = new EventEmitter();
  private resourceVersion = '';
  private closed = false;
  private current: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  /** Ends the wait before a retry early (close). */
  private wake: () => void = () => {};
  /** The cache reflects the server (a list succeeded and no list has failed since). */
  synced = false;

  constructor(private readonly o: ReflectorOptions<T>) {
    this.events.setMaxListeners(0);
  }

  /**
   * Lists, then starts the watch loop; resolves after that first list. A failed first list
   * rejects with its error and starts nothing, so a later call tries again.
   */
  start(): Promise<void> {
    this.starting ??= this.relist().then(
      () => {
        this.loop = this.run();
      },
      (err: unknown) => {
        this.starting = undefined;
        throw err;
      },
    );
    return this.starting;
  }

  get(name: string): T | undefined {
    return this.objects.get(name);
  }

  items(): T[] {
    return [...this.objects.values()];
  }

  /**
   * Resolves with the object (or undefined once it is gone) as soon as `done` says so, checked now
   * and after every change to it; rejects after `timeoutMs`.
   */
  waitFor(name: string, done: (obj: T | undefined) => boolean, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const check = (changed: string) => {
        if (changed !== name) return;
        const obj = this.objects.get(name);
        if (!done(obj)) return;
        cleanup();
        resolve(obj);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${name}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('change', check);
      };
      this.events.on('change', check);
      check(name);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current?.abort();
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    let retry = this.o.retryMs ?? 500;
    while (!this.closed) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce();
        retry = this.o.retryMs ?? 500;
      } catch (err) {
        if (this.closed) return;
        if (statusOf(err) === 410) {
          this.stats.gone++;
          this.resourceVersion = '';
          continue;
        }
        this.resourceVersion = '';
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retry);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        retry = Math.min(retry * 2, 10_000);
      }
    }
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    let list: Awaited<ReturnType<ReflectorOptions<T>['list']>>;
    try {
      list = await this.o.list();
    } catch (err) {
      this.synced = false;
      throw err;
    }
    const seen = new Set<string>();
    for (const obj of list.items) {
      const name = obj.metadata?.name as string;
      seen.add(name);
      this.put(name, obj);
    }
    for (const name of [...this.objects.keys()]) {
      if (!seen.has(name)) {
        this.objects.delete(name);
        this.events.emit('change', name);
      }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.synced = true;
  }

  /** One watch request, until the server ends it, it fails, or it goes silent. */
  private watchOnce(): Promise<void> {
    this.stats.watches++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(silence);
        controller?.abort();
        if (err) reject(err);
        else resolve();
      };
      const silenceMs = this.o.watchTimeoutSeconds * 1000 + (this.o.graceMs ?? 5000);
      let silence = setTimeout(onSilent, silenceMs);
      const self = this;
      function onSilent() {
        // Nothing since the watch began, past the time the server was asked to end it by: the
        // connection is open but dead. What it may have missed is listed again.
        self.stats.silentRestarts++;
        self.resourceVersion = '';
        settle();
      }
      const heard = () => {
        clearTimeout(silence);
        silence = setTimeout(onSilent, silenceMs);
      };
      const params = {
        labelSelector: this.o.labelSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.o.watchTimeoutSeconds,
      };
      new Watch(this.o.kubeConfig)
        .watch(
          this.o.path,
          params,
          (type: string, obj: T & { code?: number }) => {
            if (settled) return;
            heard();
            if (type === 'ERROR') {
              settle(Object.assign(new Error(`watch error ${obj.code}`), { statusCode: obj.code }));
              return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (type !== 'BOOKMARK') {
              const name = obj.metadata?.name as string;
              if (type === 'DELETED') {
                this.objects.delete(name);
                this.events.emit('change', name);
              } else this.put(name, obj);
            }
            if (rv) this.resourceVersion = rv;
          },
          (err: unknown) => settle(err ?? undefined),
        )
        .then(
          (c: AbortController) => {
            controller = c;
            this.current = c;
            if (settled || this.closed) c.abort();
          },
          (err: unknown) => settle(err),
        );
    });
  }

  private put(name: string, obj: T): void {
    const old = this.objects.get(name);
    if (old?.metadata?.resourceVersion && old.metadata.resourceVersion === obj.metadata?.resourceVersion)
      return;
    this.objects.set(name, obj);
    this.events.emit('change', name);
  }
}

/** The HTTP status of a client-node error (ApiException's `code`, Watch's `statusCode`). */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
}
