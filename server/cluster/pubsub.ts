// Messages between the control-plane replicas of one installation: a replica publishes on a
// channel and every replica subscribed to it (itself included) receives the payload. Delivery is
// best effort and unordered across channels, so payloads name what changed (ids) and receivers
// read the rows; after a gap (`onResync`), a receiver must assume it missed anything.

/**
 * PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (server default). The same limit holds
 * on the in-process pubsub, so code written in SQLite mode does not break on PostgreSQL.
 * https://www.postgresql.org/docs/current/sql-notify.html
 */
export const MAX_PAYLOAD_BYTES = 7999;

/** Lower case, digits and underscores: a channel name is also part of a PostgreSQL identifier. */
const CHANNEL = /^[a-z][a-z0-9_]{0,39}$/;

export interface SubscribeOptions {
  /**
   * Called when messages may have been lost (the LISTEN connection dropped and came back).
   * A cache should drop everything it holds.
   */
  onResync?: () => void;
}

export interface Pubsub {
  /**
   * Connects and checks that messages arrive; resolves once every channel subscribed so far is
   * listened to. Throws a PubsubError with a sentence for the operator when they cannot arrive.
   * Called once, at startup, before the server takes traffic.
   */
  start(): Promise<void>;
  /**
   * Sends `payload` to every subscriber of `channel`, on every replica. Resolves once the message
   * is handed to the transport, not when it is received. Throws PubsubError for a payload of
   * MAX_PAYLOAD_BYTES or more or a bad channel name; throws the transport's error when it fails.
   */
  publish(channel: string, payload: string): Promise<void>;
  /**
   * Calls `handler` with every payload published on `channel` from now on. A subscription made
   * before `start()` is in place when it resolves; one made later may miss what is published
   * before its LISTEN reaches the server. Returns the function that ends the subscription.
   * A handler that throws is logged and does not affect other subscribers.
   */
  subscribe(channel: string, handler: (payload: string) => void, opts?: SubscribeOptions): () => void;
  /** Ends subscriptions and the connection; idempotent. */
  close(): Promise<void>;
}

export class PubsubError extends Error {
  override name = 'PubsubError';
}

/** Throws PubsubError unless `channel` is a valid name. */
export function ensureChannel(channel: string): void {
  if (!CHANNEL.test(channel))
    throw new PubsubError(
      `Pubsub channel "${channel}" is not valid: use lower case letters, digits and underscores, at most 40.`,
    );
}

/** Throws PubsubError when `payload` is too big for NOTIFY. */
export function ensurePayload(channel: string, payload: string): void {
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES)
    throw new PubsubError(
      `A message on channel "${channel}" is ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}. Publish ids and let receivers read the rows.`,
    );
}
