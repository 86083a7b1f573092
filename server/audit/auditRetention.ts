// Keeps the audit log to its retention period (`audit.retentionDays`): at start and then every
// `audit.pruneInterval` it deletes the entries older than that, by the injected clock.
//
// Every replica runs one of these against the shared store. That is safe without any leader or
// lock: a delete by age is idempotent, so two replicas pruning at once delete disjoint or already
// deleted rows and the log ends the same.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { AuditStore } from '../store/auditStore.js';

const DAY_MS = 86_400_000;

/**
 * Calls `tick` every `ms` until the returned function is called; injected so tests drive it (the
 * promise a tick returns settles when that prune is done).
 */
export type Schedule = (tick: () => Promise<number>, ms: number) => () => void;

const everyInterval: Schedule = (tick, ms) => {
  const timer = setInterval(() => void tick(), ms);
  // The timer alone must not keep a stopping server alive.
  timer.unref();
  return () => clearInterval(timer);
};

export interface AuditRetentionOptions {
  store: AuditStore;
  clock: Clock;
  retentionDays: number;
  /** Seconds between prunes. */
  pruneIntervalSeconds: number;
  log: Logger;
  schedule?: Schedule;
}

export class AuditRetention {
  private cancel: (() => void) | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly o: AuditRetentionOptions) {}

  /**
   * Prunes once now and then on every tick; the promise settles when the first prune is done (it
   * never rejects: a failed prune is logged and retried on the next tick). Idempotent.
   */
  start(): Promise<number> {
    if (this.cancel) return this.running ?? Promise.resolve(0);
    const schedule = this.o.schedule ?? everyInterval;
    this.cancel = schedule(() => this.tick(), this.o.pruneIntervalSeconds * 1000);
    return this.tick();
  }

  /** Stops the ticks and waits for a prune in progress. Idempotent. */
  async stop(): Promise<void> {
    this.cancel?.();
    this.cancel = undefined;
    await this.running;
  }

  /** Deletes the entries past the retention period now; returns how many went. */
  async pruneOnce(): Promise<number> {
    const cutoff = new Date(this.o.clock.now().getTime() - this.o.retentionDays * DAY_MS);
    return this.o.store.pruneBefore(cutoff);
  }

  /** One prune at a time: a tick that comes while one runs waits for that one instead. */
  private tick(): Promise<number> {
    if (this.running) return this.running;
    const run = this.pruneOnce()
      .then((deleted) => {
        if (deleted > 0)
          this.o.log.info({ deleted, retentionDays: this.o.retentionDays }, 'pruned the audit log');
        return deleted;
      })
      .catch((err) => {
        // The next tick tries again; an entry kept a little longer than its period harms nothing.
        this.o.log.warn({ err }, 'audit log prune failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = run;
    return run;
  }
}
