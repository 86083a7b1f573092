import type { RpcPeer } from '../../sdk/rpcPeer.js';
import { log } from '../log.js';
import type { EventQueue } from './eventQueue.js';

/**
 * Sends one task's queue on one connection as `task.event` notifications, in seq order: first
 * every unacknowledged event (the resend after a reconnect), then each new one once it is
 * durable. One sender per task and connection; it stops by itself when the connection closes,
 * and the next connection's sender starts again from the acknowledged watermark.
 */
export class QueueSender {
  private sentSeq: number;
  private running = false;
  private again = false;

  constructor(
    private readonly taskId: string,
    private readonly queue: EventQueue,
    private readonly peer: RpcPeer,
  ) {
    this.sentSeq = queue.ackedSeq;
  }

  /** Sends whatever is durable and not yet sent on this connection. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.run().catch((err: Error) => log('task.send_failed', { taskId: this.taskId, error: err.message }));
  }

  private async run(): Promise<void> {
    // `running` drops in the same tick as the last look at `again`, so no kick falls in between.
    try {
      do {
        this.again = false;
        for (;;) {
          if (!this.peer.isOpen) return;
          const batch = await this.queue.read(this.sentSeq);
          if (batch.length === 0) break;
          for (const { seq, line } of batch) {
            this.peer.notify('task.event', { taskId: this.taskId, seq, line });
            this.sentSeq = seq;
          }
          // A long backlog must not pile up in the socket's send buffer.
          await this.peer.drained();
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
  }
}
