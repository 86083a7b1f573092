// Recently used API tokens and their owners, kept in memory for a moment. Scripts and CI call the
// API in bursts with one token, and reading the token and then its user on every request cost two
// queries, more than the rest of a small request together. The cache never widens access:
// - any revocation or user change made through this process's stores invalidates every entry at
//   once (their access versions move), so on this replica it applies to the very next request;
// - one made on another replica does the same when its announcement arrives over the pubsub
//   (server/auth/accessChanges.ts), milliseconds later;
// - an entry lives at most `ttlMs`, which bounds what a lost announcement costs;
// - expiry, revocation and the disabled flag are still checked on every request by the caller.
// Per process on purpose: it saves this process's queries, and the pubsub keeps replicas honest.
import type { TokenRow } from '../store/tokenStore.js';
import type { UserRow } from '../store/userStore.js';

export interface CachedToken {
  row: TokenRow;
  /** Frozen: it is shared by every request with this token, so no request may change it. */
  user: Readonly<UserRow>;
  /** expires_at in epoch milliseconds, parsed once; null for a token that never expires. */
  expiresAtMs: number | null;
}

interface Entry extends CachedToken {
  readAtMs: number;
  version: number;
}

export interface TokenCacheOptions {
  ttlMs: number;
  maxEntries: number;
  /**
   * A number that goes up after every write that can end or change a token holder's access
   * (token revoked, user disabled or changed). Entries read under an older number are stale.
   */
  accessVersion: () => number;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: TokenCacheOptions) {}

  /** Read this before reading the rows you will `set`: a write that lands during the read then makes them stale. */
  version(): number {
    return this.opts.accessVersion();
  }

  /** The entry for this token hash, unless it is older than the TTL or access changed since it was read. */
  get(tokenHash: string, now: Date): CachedToken | undefined {
    const entry = this.entries.get(tokenHash);
    if (!entry) return undefined;
    const age = now.getTime() - entry.readAtMs;
    // A clock that stepped back (age < 0) must not make an entry live longer than the TTL.
    if (entry.version !== this.opts.accessVersion() || age < 0 || age >= this.opts.ttlMs) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry;
  }

  /** Remember a token that was valid, with its active owner, as read under `version`. */
  set(tokenHash: string, value: CachedToken, version: number, now: Date): void {
    if (version !== this.opts.accessVersion()) return;
    this.entries.delete(tokenHash);
    // Map iteration follows insertion order, so the first key is the entry read longest ago.
    if (this.entries.size >= this.opts.maxEntries)
      this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(tokenHash, { ...value, readAtMs: now.getTime(), version });
  }
}
