// Replica-to-replica authentication (DESIGN §9): every internal request carries an HMAC-SHA256,
// keyed with the cluster secret, over its method, path, timestamp and the SHA-256 of its body.
// The receiver recomputes it, compares in constant time and refuses a timestamp more than
// CLOCK_WINDOW_MS from its own clock, so a captured request cannot be replayed later. (Within the
// window it could be: the relayed agent calls are ones a user could repeat anyway.)
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { SettingStore } from '../store/settingStore.js';

export const CLUSTER_SIGNATURE_HEADER = 'x-rc-cluster-signature';
export const CLUSTER_TIMESTAMP_HEADER = 'x-rc-cluster-timestamp';
/** How far a request's timestamp may be from the receiver's clock. */
export const CLOCK_WINDOW_MS = 30_000;
const SECRET_SETTING = 'cluster.secret';

export type ClusterRefusal = 'missing_signature' | 'stale_timestamp' | 'bad_signature';

export interface ClusterAuthOptions {
  /** `server.clusterSecret`; unset, a secret generated once and kept in the settings table. */
  configured: string | undefined;
  settings: SettingStore;
  clock: Clock;
}

export class ClusterAuth {
  private secret: Promise<string> | undefined;

  constructor(private readonly o: ClusterAuthOptions) {}

  /** The headers that authenticate a request of `method` to `path` (with its query) with `body`. */
  async sign(method: string, path: string, body: string): Promise<Record<string, string>> {
    const timestamp = String(this.o.clock.now().getTime());
    const signature = mac(await this.key(), method, path, timestamp, body);
    return { [CLUSTER_TIMESTAMP_HEADER]: timestamp, [CLUSTER_SIGNATURE_HEADER]: signature };
  }

  /** Undefined when the request is authentic and fresh, else why it is not. */
  async check(
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): Promise<ClusterRefusal | undefined> {
    const timestamp = headers[CLUSTER_TIMESTAMP_HEADER];
    const signature = headers[CLUSTER_SIGNATURE_HEADER];
    if (typeof timestamp !== 'string' || typeof signature !== 'string') return 'missing_signature';
    const at = /^\d{1,16}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
    if (!(Math.abs(this.o.clock.now().getTime() - at) <= CLOCK_WINDOW_MS)) return 'stale_timestamp';
    const expected = Buffer.from(mac(await this.key(), method, path, timestamp, body));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : 'bad_signature';
  }

  private key(): Promise<string> {
    this.secret ??= this.o.configured
      ? Promise.resolve(this.o.configured)
      : this.o.settings.getOrCreate(SECRET_SETTING, () => randomBytes(32).toString('base64url'));
    // A failed read is tried again on the next request rather than remembered.
    this.secret.catch(() => {
      this.secret = undefined;
    });
    return this.secret;
  }
}

function mac(secret: string, method: string, path: string, timestamp: string, body: string): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret)
    .update(`${method.toUpperCase()}\n${path}\n${timestamp}\n${bodyHash}`)
    .digest('hex');
}
