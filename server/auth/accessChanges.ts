// Writes that end or change someone's access (a token revoked, a user disabled or given another
// role, a session signed out, a node's join token revoked) are announced on the pubsub, so that every replica drops what it
// remembers about them at once instead of trusting it until a TTL runs out. Messages carry ids
// only; a receiver that needs more reads the rows.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Pubsub } from '../cluster/pubsub.js';

export const ACCESS_CHANNEL = 'access_changed';

const AccessChange = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('token'), id: z.string().min(1) }),
  z.object({ kind: z.literal('user'), id: z.string().min(1) }),
  z.object({ kind: z.literal('session'), id: z.string().min(1) }),
  /** Every session of this user (disable, password change). */
  z.object({ kind: z.literal('user_sessions'), userId: z.string().min(1) }),
  /** A node daemon's join token (server/nodes/nodeHub.ts drops the node it admitted). */
  z.object({ kind: z.literal('node_join_token'), id: z.string().min(1) }),
]);
export type AccessChange = z.infer<typeof AccessChange>;

/** What a store calls after such a write has committed. Never throws. */
export type AnnounceAccessChange = (change: AccessChange) => Promise<void>;

export class AccessChanges {
  constructor(
    private readonly pubsub: Pubsub,
    private readonly log: Logger,
  ) {}

  /**
   * Publishes the change. A failure is logged, not thrown: the write it follows has committed,
   * and the other replicas' caches still expire on their own (see tokenCache.ts).
   */
  readonly announce: AnnounceAccessChange = async (change) => {
    try {
      await this.pubsub.publish(ACCESS_CHANNEL, JSON.stringify(change));
    } catch (err) {
      this.log.warn({ err, change }, 'announcing an access change to the other replicas failed');
    }
  };

  /**
   * Calls `fn` with every change announced by any replica (this one included), and with
   * `undefined` when changes may have been missed or one could not be read: then drop everything.
   */
  subscribe(fn: (change: AccessChange | undefined) => void): () => void {
    return this.pubsub.subscribe(
      ACCESS_CHANNEL,
      (payload) => {
        const parsed = AccessChange.safeParse(parseJson(payload));
        if (!parsed.success) this.log.warn({ payload }, 'an access change message could not be read');
        fn(parsed.success ? parsed.data : undefined);
      },
      { onResync: () => fn(undefined) },
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
