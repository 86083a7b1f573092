// The notices that carry a task's live feed between replicas: "task T has events up to seq N" and
// "task T's usage totals are now …". They name rows, never carry them (NOTIFY payloads stay under
// 8000 bytes); a replica with viewers of T reads the new rows from the store. Notices of one
// short window go out together, so a replica sends at most 200 NOTIFYs a second, however many
// events and tasks.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TaskUsageFrame } from '../../sdk/taskWire.js';
import { MAX_PAYLOAD_BYTES, type Pubsub } from '../cluster/pubsub.js';

export const TASK_FEED_CHANNEL = 'task_feed';

/** How long notices wait to be sent with the ones after them. */
const WINDOW_MS = 5;

const Usage = z.object({ costUsd: z.number(), inputTokens: z.number(), outputTokens: z.number() });

const TaskFeedNotice = z.object({
  taskId: z.string().min(1),
  lastSeq: z.number().int().nonnegative().optional(),
  usage: Usage.optional(),
});
export type TaskFeedNotice = z.infer<typeof TaskFeedNotice>;

const TaskFeedMessage = z.array(TaskFeedNotice);

/** The notices of `payload`, or undefined when it cannot be read. */
export function readNotices(payload: string): TaskFeedNotice[] | undefined {
  try {
    const parsed = TaskFeedMessage.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Collects notices for a short window, keeps the newest per task, and publishes them. */
export class TaskFeedPublisher {
  private pending = new Map<string, TaskFeedNotice>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pubsub: Pubsub,
    private readonly log: Logger,
  ) {}

  /** Events of `taskId` up to `seq` are committed. */
  stored(taskId: string, seq: number): void {
    const n = this.notice(taskId);
    n.lastSeq = Math.max(n.lastSeq ?? 0, seq);
  }

  metered(f: TaskUsageFrame): void {
    this.notice(f.taskId).usage = {
      costUsd: f.costUsd,
      inputTokens: f.inputTokens,
      outputTokens: f.outputTokens,
    };
  }

  /** Sends what is pending now (shutdown). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.send();
  }

  /**
   * The first notice after a quiet window goes out at once (in a microtask, so the events stored
   * in the same run go with it); the ones after it wait for the window's end. So a replica sends
   * at most one message per window and a lone event is not held back.
   */
  private notice(taskId: string): TaskFeedNotice {
    let n = this.pending.get(taskId);
    if (!n) {
      n = { taskId };
      this.pending.set(taskId, n);
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.windowEnded(), WINDOW_MS);
      queueMicrotask(() => this.send());
    }
    return n;
  }

  private windowEnded(): void {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    this.send();
    this.timer = setTimeout(() => this.windowEnded(), WINDOW_MS);
  }

  private send(): void {
    if (this.pending.size === 0) return;
    const notices = [...this.pending.values()];
    this.pending = new Map();
    for (const payload of packed(notices)) {
      this.pubsub.publish(TASK_FEED_CHANNEL, payload).catch((err) => {
        // Viewers of these tasks on other replicas catch up at the task's next notice.
        this.log.warn({ err }, 'publishing task feed notices failed');
      });
    }
  }
}

/** The notices as JSON arrays, each under the pubsub's payload limit. */
function packed(notices: TaskFeedNotice[]): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let bytes = 2;
  for (const n of notices) {
    const s = JSON.stringify(n);
    const size = Buffer.byteLength(s) + 1;
    if (parts.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      out.push(`[${parts.join(',')}]`);
      parts = [];
      bytes = 2;
    }
    parts.push(s);
    bytes += size;
  }
  if (parts.length > 0) out.push(`[${parts.join(',')}]`);
  return out;
}
