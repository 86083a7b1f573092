import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventQueue, type QueuedEvent } from './eventQueue.js';

let dir: string;
beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'rc-queue-')), 'task-1');
});
afterEach(async () => {
  await rm(path.dirname(dir), { recursive: true, force: true });
});

/** Everything `read` yields after `afterSeq`, batch by batch. */
async function readAll(queue: EventQueue, afterSeq = 0): Promise<QueuedEvent[]> {
  const all: QueuedEvent[] = [];
  for (let batch = await queue.read(afterSeq); batch.length > 0; batch = await queue.read(afterSeq)) {
    all.push(...batch);
    afterSeq = (batch.at(-1) as QueuedEvent).seq;
  }
  return all;
}

/** Resolves once everything appended so far is on disk. */
function durable(queue: EventQueue): Promise<void> {
  return new Promise((resolve) => {
    queue.onDurable = () => {
      if (queue.backlogChars === 0) resolve();
    };
  });
}

describe('EventQueue', () => {
  it('numbers lines from firstSeq and hands them out only once they are on disk', async () => {
    const queue = await EventQueue.open(dir, 5);
    const written = durable(queue);
    expect([queue.append('a'), queue.append('b\tc'), queue.append('')]).toEqual([5, 6, 7]);
    // Nothing is readable before the fdatasync: the server must never see an event a crash loses.
    expect(await queue.read(0)).toEqual([]);
    await written;
    expect(await readAll(queue)).toEqual([
      { seq: 5, line: 'a' },
      { seq: 6, line: 'b\tc' },
      { seq: 7, line: '' },
    ]);
    expect(await readFile(path.join(dir, 'events'), 'utf8')).toBe('5\ta\n6\tb\tc\n7\t\n');
    expect(queue.hasUnacked).toBe(true);
    await queue.close();
  });

  it('drops acknowledged events and empties the file once all are acknowledged', async () => {
    const queue = await EventQueue.open(dir);
    const written = durable(queue);
    for (const line of ['one', 'two', 'three']) queue.append(line);
    await written;
    await queue.ack(2);
    expect(await readAll(queue)).toEqual([{ seq: 3, line: 'three' }]);
    expect(await readFile(path.join(dir, 'acked'), 'utf8')).toBe('2\n');
    // An ack past the last event cannot hide events that do not exist yet.
    await queue.ack(99);
    expect(queue.ackedSeq).toBe(3);
    expect(queue.hasUnacked).toBe(false);
    expect((await stat(path.join(dir, 'events'))).size).toBe(0);
    const more = durable(queue);
    expect(queue.append('four')).toBe(4);
    await more;
    expect(await readFile(path.join(dir, 'events'), 'utf8')).toBe('4\tfour\n');
    await queue.remove();
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('compacts the file once the acknowledged part is big', async () => {
    const queue = await EventQueue.open(dir);
    const written = durable(queue);
    const big = 'x'.repeat(300_000);
    for (let i = 0; i < 8; i++) queue.append(`${i}${big}`);
    await written;
    const before = (await stat(path.join(dir, 'events'))).size;
    await queue.ack(2); // 600 KB of 2.4 MB: not worth a rewrite yet
    expect((await stat(path.join(dir, 'events'))).size).toBe(before);
    await queue.ack(6);
    const after = (await stat(path.join(dir, 'events'))).size;
    expect(after).toBe(before - 6 * (big.length + 4));
    expect((await readAll(queue)).map((e) => e.seq)).toEqual([7, 8]);
    const appended = durable(queue);
    queue.append('tail');
    await appended;
    await queue.close();
    const reopened = await EventQueue.open(dir);
    expect((await readAll(reopened)).map((e) => [e.seq, e.line.slice(0, 2)])).toEqual([
      [7, '6x'],
      [8, '7x'],
      [9, 'ta'],
    ]);
    await reopened.close();
  });

  it('reopens with the unacknowledged events, dropping a record cut short by a crash', async () => {
    const queue = await EventQueue.open(dir);
    const written = durable(queue);
    for (const line of ['{"type":"system"}', 'not json', '{"type":"result"}']) queue.append(line);
    await written;
    await queue.ack(1);
    await queue.close();
    await appendFile(path.join(dir, 'events'), '4\t{"type":"half');

    const reopened = await EventQueue.open(dir);
    expect(reopened.ackedSeq).toBe(1);
    expect(reopened.lastSeq).toBe(3);
    expect(await readAll(reopened)).toEqual([
      { seq: 2, line: 'not json' },
      { seq: 3, line: '{"type":"result"}' },
    ]);
    const written2 = durable(reopened);
    expect(reopened.append('next')).toBe(4);
    await written2;
    expect(await readFile(path.join(dir, 'events'), 'utf8')).toBe(
      '1\t{"type":"system"}\n2\tnot json\n3\t{"type":"result"}\n4\tnext\n',
    );
    await reopened.close();
  });

  it('treats a missing or unreadable watermark as nothing acknowledged', async () => {
    const queue = await EventQueue.open(dir);
    const written = durable(queue);
    queue.append('a');
    queue.append('b');
    await written;
    await queue.ack(1);
    await queue.close();
    await writeFile(path.join(dir, 'acked'), 'garbage');
    const reopened = await EventQueue.open(dir);
    // Event 1 is still in the file (too small to compact). The server ignores what it already
    // stored, so resending it is the safe side.
    expect((await readAll(reopened)).map((e) => e.seq)).toEqual([1, 2]);
    expect(reopened.ackedSeq).toBe(0);
    await reopened.close();
  });

  it('continues after a later firstSeq with nothing outstanding', async () => {
    const queue = await EventQueue.open(dir);
    const written = durable(queue);
    queue.append('a');
    await written;
    await queue.ack(1);
    queue.skipTo(10);
    expect(queue.hasUnacked).toBe(false);
    expect(queue.lastSeq).toBe(9);
    const more = durable(queue);
    expect(queue.append('b')).toBe(10);
    await more;
    expect(await readAll(queue)).toEqual([{ seq: 10, line: 'b' }]);
    await queue.close();
  });
});
