// Notices of one window go out as one message, the newest per task, each message under the
// pubsub's payload limit.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryPubsub } from '../cluster/memoryPubsub.js';
import { MAX_PAYLOAD_BYTES } from '../cluster/pubsub.js';
import { readNotices, TASK_FEED_CHANNEL, TaskFeedPublisher } from './taskFeedNotices.js';

describe('TaskFeedPublisher', () => {
  const log = pino({ level: 'silent' });

  async function published(fill: (p: TaskFeedPublisher) => void): Promise<string[]> {
    const pubsub = new MemoryPubsub(log);
    const got: string[] = [];
    pubsub.subscribe(TASK_FEED_CHANNEL, (payload) => got.push(payload));
    const p = new TaskFeedPublisher(pubsub, log);
    fill(p);
    await new Promise((r) => setTimeout(r, 30));
    return got;
  }

  it('sends a thousand events of one task as one notice naming the last seq', async () => {
    const got = await published((p) => {
      for (let seq = 1; seq <= 1000; seq++) p.stored('t1', seq);
      p.metered({ type: 'usage', taskId: 't1', costUsd: 1, inputTokens: 2, outputTokens: 3 });
    });
    expect(got).toHaveLength(1);
    expect(readNotices(got[0] as string)).toEqual([
      { taskId: 't1', lastSeq: 1000, usage: { costUsd: 1, inputTokens: 2, outputTokens: 3 } },
    ]);
  });

  it('splits the notices of many tasks into messages under the payload limit', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `${'x'.repeat(30)}-${i}`);
    const got = await published((p) => {
      for (const id of ids) p.stored(id, 7);
    });
    expect(got.length).toBeGreaterThan(1);
    for (const m of got) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(got.flatMap((m) => readNotices(m)?.map((n) => n.taskId))).toEqual(ids);
  });
});
