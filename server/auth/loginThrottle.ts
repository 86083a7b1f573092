import type { Clock } from '../clock.js';
import type { LoginFailureStore } from '../store/loginFailureStore.js';

export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  /** Seconds over which failures are counted. */
  window: number;
}

/**
 * Counts failed sign-ins per account and per client IP over a sliding window. Once either count
 * reaches its limit, further attempts are refused until the oldest failure leaves the window.
 * The failures live in the store, so every replica counts the same ones: guessing is bounded by
 * the limit, not by limit × replicas. Accounts are keyed by their lower-cased email, as sign-in
 * looks them up, so case variants of one address share a count.
 */
export class LoginThrottle {
  constructor(
    private readonly limits: ThrottleLimits,
    private readonly store: LoginFailureStore,
    private readonly clock: Clock,
  ) {}

  /** Seconds to wait before another attempt is allowed, or 0 when allowed now. */
  async retryAfter(account: string, ip: string): Promise<number> {
    const [byAccount, byIp] = await Promise.all([
      this.wait(accountKey(account), this.limits.maxFailuresPerAccount),
      this.wait(ipKey(ip), this.limits.maxFailuresPerIp),
    ]);
    return Math.max(byAccount, byIp);
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    const keys = [accountKey(account), ipKey(ip)];
    await this.store.add(keys, this.nowMs());
    // Rows out of the window count for nothing; dropping these keys' ones keeps a key under attack
    // small between the periodic prunes.
    await this.store.prune(this.cutoffMs(), keys);
  }

  /** A successful sign-in clears the account's failures (not the IP's). */
  async recordSuccess(account: string): Promise<void> {
    await this.store.clear(accountKey(account));
  }

  /** Delete failures that left the window, for every key. Returns how many went. */
  prune(): Promise<number> {
    return this.store.prune(this.cutoffMs());
  }

  private async wait(key: string, max: number): Promise<number> {
    const latest = await this.store.latest(key, this.cutoffMs(), max);
    if (latest.length < max) return 0;
    const oldestThatCounts = latest[max - 1] as number;
    const freeAt = oldestThatCounts + this.limits.window * 1000;
    return Math.max(1, Math.ceil((freeAt - this.nowMs()) / 1000));
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  private cutoffMs(): number {
    return this.nowMs() - this.limits.window * 1000;
  }
}

const accountKey = (account: string) => `a:${account.toLowerCase()}`;
const ipKey = (ip: string) => `i:${ip}`;
