import type { Clock } from '../clock.js';

export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  /** Seconds over which failures are counted. */
  window: number;
}

/**
 * Counts failed sign-ins per account and per client IP over a sliding window. Once either count
 * reaches its limit, further attempts are refused until the oldest failure leaves the window.
 * Kept in memory: each replica throttles on its own, which bounds guessing to limit × replicas.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly clock: Clock,
  ) {}

  /** Seconds to wait before another attempt is allowed, or 0 when allowed now. */
  retryAfter(account: string, ip: string): number {
    return Math.max(
      this.wait(`a:${account}`, this.limits.maxFailuresPerAccount),
      this.wait(`i:${ip}`, this.limits.maxFailuresPerIp),
    );
  }

  recordFailure(account: string, ip: string): void {
    const now = this.clock.now().getTime();
    for (const key of [`a:${account}`, `i:${ip}`]) {
      const list = this.live(key);
      list.push(now);
      this.failures.set(key, list);
    }
    if (this.failures.size > 100_000) this.sweep();
  }

  /** A successful sign-in clears the account's failures (not the IP's). */
  recordSuccess(account: string): void {
    this.failures.delete(`a:${account}`);
  }

  private wait(key: string, max: number): number {
    const list = this.live(key);
    if (list.length < max) return 0;
    const oldestThatCounts = list[list.length - max] as number;
    const freeAt = oldestThatCounts + this.limits.window * 1000;
    return Math.max(1, Math.ceil((freeAt - this.clock.now().getTime()) / 1000));
  }

  private live(key: string): number[] {
    const cutoff = this.clock.now().getTime() - this.limits.window * 1000;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) this.live(key);
  }
}
