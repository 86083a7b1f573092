import type { Logger } from 'pino';
import { ensureChannel, ensurePayload, type Pubsub, type SubscribeOptions } from './pubsub.js';

interface Subscriber {
  handler: (payload: string) => void;
}

/**
 * The pubsub of a single process (SQLite mode, where one `rclaude serve` owns the store). Delivery
 * is synchronous and never lost, so `onResync` is never called.
 */
export class MemoryPubsub implements Pubsub {
  private readonly channels = new Map<string, Set<Subscriber>>();

  constructor(private readonly log?: Logger) {}

  async start(): Promise<void> {}

  async publish(channel: string, payload: string): Promise<void> {
    ensureChannel(channel);
    ensurePayload(channel, payload);
    for (const sub of [...(this.channels.get(channel) ?? [])]) {
      try {
        sub.handler(payload);
      } catch (err) {
        this.log?.error({ err, channel }, 'a pubsub subscriber failed');
      }
    }
  }

  subscribe(channel: string, handler: (payload: string) => void, _opts?: SubscribeOptions): () => void {
    ensureChannel(channel);
    const sub: Subscriber = { handler };
    const subs = this.channels.get(channel) ?? new Set();
    subs.add(sub);
    this.channels.set(channel, subs);
    return () => {
      subs.delete(sub);
      if (subs.size === 0 && this.channels.get(channel) === subs) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}
