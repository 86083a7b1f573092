/** Cancels a timer; calling it again does nothing. */
export type CancelTimer = () => void;

/**
 * Time source and timers, injected so tests (and the scheduler's simulator) can move time
 * instead of waiting for it. Timers set through a clock never keep the process alive.
 */
export interface Clock {
  now(): Date;
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): CancelTimer;
  /** Calls `fn` every `ms` from now on. */
  every(ms: number, fn: () => void): CancelTimer;
}

export const systemClock: Clock = {
  now: () => new Date(),
  after(ms, fn) {
    const t = setTimeout(fn, ms).unref();
    return () => clearTimeout(t);
  },
  every(ms, fn) {
    const t = setInterval(fn, ms).unref();
    return () => clearInterval(t);
  },
};

interface ManualTimer {
  due: number;
  /** Set for `every`. */
  period?: number;
  fn: () => void;
  seq: number;
}

/** A clock tests can set and advance; its timers fire only when `advance` passes their time. */
export class ManualClock implements Clock {
  private readonly timers = new Set<ManualTimer>();
  private seq = 0;

  constructor(private current = new Date('2026-01-01T00:00:00.000Z')) {}

  now(): Date {
    return new Date(this.current);
  }

  after(ms: number, fn: () => void): CancelTimer {
    return this.add({ due: this.current.getTime() + Math.max(0, ms), fn, seq: this.seq++ });
  }

  every(ms: number, fn: () => void): CancelTimer {
    const period = Math.max(1, ms);
    return this.add({ due: this.current.getTime() + period, period, fn, seq: this.seq++ });
  }

  /** Timers waiting to fire (a test's way to see that nothing was left behind). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in time order,
   * with `now()` at each timer's own due time while it runs.
   */
  advance(ms: number): void {
    const end = this.current.getTime() + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.due <= end && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.current = new Date(Math.max(this.current.getTime(), next.due));
      if (next.period === undefined) this.timers.delete(next);
      else next.due += next.period;
      next.fn();
    }
    this.current = new Date(end);
  }

  private add(timer: ManualTimer): CancelTimer {
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }
}

/** Measures real elapsed time, never a clock: it bounds waits on real processes, which no clock moves. */
export function realDeadline(ms: number): { passed(): boolean } {
  const end = performance.now() + ms;
  return { passed: () => performance.now() >= end };
}
