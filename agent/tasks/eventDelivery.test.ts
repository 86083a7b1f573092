// The durable event queue with the real agent and the real Claude Code: unacknowledged events
// come again after a reconnect and after an agent restart; acknowledged ones never do.
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStub } from '../../test/support/modelStub.js';
import { buildAgent, type TestAgent } from '../agentHarness.js';
import {
  eventsOf,
  nextEvent,
  parse,
  range,
  seqs,
  startStub,
  startTaskAgent,
  type TaskEvent,
} from './taskTestKit.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let stub: ModelStub;
const agents: TestAgent[] = [];

const read = (delayMs = 0) => ({
  delayMs,
  content: [{ type: 'tool_use' as const, name: 'Read', input: { file_path: 'README.md' } }],
});

beforeAll(async () => {
  [bundle, stub] = await Promise.all([
    buildAgent(),
    startStub({
      // Reads need no approval, so the task runs on while the test disconnects it.
      steps: {
        turns: [read(), read(1500), { delayMs: 500, content: [{ type: 'text', text: 'read twice' }] }],
      },
      short: { turns: [read(), { content: [{ type: 'text', text: 'read once' }] }] },
    }),
  ]);
});
afterAll(async () => {
  // Later agents may use an earlier one's home: stop (and delete) in reverse order.
  for (const agent of agents.reverse()) await agent.stop();
  await stub?.close();
  await bundle?.remove();
});

async function startAgent(env: Record<string, string> = {}): Promise<TestAgent> {
  const agent = await startTaskAgent(bundle.entry, () => stub, { env });
  agents.push(agent);
  await writeFile(path.join(agent.workspace, 'README.md'), '# readme\n');
  return agent;
}

const byLine = (events: TaskEvent[]) => new Map(events.map((e) => [e.seq, e.line]));

describe('event delivery', () => {
  it('resends every unacknowledged event after a reconnect, in order, and no acknowledged one', async () => {
    const agent = await startAgent();
    const first = await agent.controlPlane.connection(0);
    await first.peer.request('task.start', { taskId: 'steps', prompt: '[scenario:steps] read it twice' });
    // The first Read's result is in; the second turn is still 1.5 s away in the stub.
    await nextEvent(first, 'steps', (m) => m.type === 'user');
    first.peer.notify('task.ack', { taskId: 'steps', seq: 2 });
    // Requests are answered in order, so once this is back the ack has been taken.
    await first.peer.request('task.list', {});
    const before = eventsOf(first, 'steps');
    first.peer.ws.terminate();

    const second = await agent.controlPlane.connection(1);
    const result = await nextEvent(second, 'steps', (m) => m.type === 'result');
    expect(parse(result)).toMatchObject({ result: 'read twice' });
    await second.peer.request('task.stop', { taskId: 'steps' });
    const exit = await nextEvent(second, 'steps', (m) => m.type === 'rc_exit');
    const after = eventsOf(second, 'steps');

    expect(seqs(before)).toEqual(range(1, before.length));
    // Everything from the first unacknowledged event on, each once, in seq order.
    expect(seqs(after)).toEqual(range(3, exit.seq));
    // Events came while disconnected (the second turn), not just the resend.
    expect(result.seq).toBeGreaterThan(before.length);
    // The resent ones are the same lines.
    const sent = byLine(before);
    for (const e of after.filter((a) => sent.has(a.seq))) expect(e.line).toBe(sent.get(e.seq));
  });

  it('keeps unacknowledged events across an agent restart and resends them to the new agent', async () => {
    const first = await startAgent();
    const conn = await first.controlPlane.connection();
    await conn.peer.request('task.start', { taskId: 'survivor', prompt: '[scenario:short] read it' });
    const result = await nextEvent(conn, 'survivor', (m) => m.type === 'result');
    conn.peer.notify('task.ack', { taskId: 'survivor', seq: 2 });
    // The watermark reaches the disk shortly after the ack (a kill before that only means a
    // resend of events 1 and 2, which the server ignores); wait for it to test the strict case.
    const watermark = path.join(first.home, '.remote-claude/tasks/survivor/acked');
    await expect.poll(() => readFile(watermark, 'utf8').catch(() => ''), { timeout: 5000 }).toBe('2\n');
    const sentBefore = eventsOf(conn, 'survivor').filter((e) => e.seq <= result.seq);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startAgent({ HOME: first.home, RC_WORKSPACE_DIR: first.workspace });
    const conn2 = await second.controlPlane.connection();
    await nextEvent(conn2, 'survivor', (_m, e) => e.seq === result.seq, 10_000);
    const resent = eventsOf(conn2, 'survivor');
    expect(seqs(resent)).toEqual(range(3, result.seq));
    const sent = byLine(sentBefore);
    for (const e of resent) expect(e.line).toBe(sent.get(e.seq));
    // The process died with the old agent; the queue is what is left.
    expect(await conn2.peer.request('task.list', {})).toEqual({
      tasks: [{ taskId: 'survivor', running: false, lastSeq: result.seq }],
    });

    conn2.peer.notify('task.ack', { taskId: 'survivor', seq: result.seq });
    await expect.poll(() => conn2.peer.request('task.list', {}), { timeout: 5000 }).toEqual({ tasks: [] });
    // The queue leaves the list before its directory is gone, so the removal is waited for.
    const queueDir = path.join(first.home, '.remote-claude/tasks/survivor');
    await expect
      .poll(
        () =>
          stat(queueDir).then(
            () => 'exists',
            (err: NodeJS.ErrnoException) => err.code,
          ),
        { timeout: 5000 },
      )
      .toBe('ENOENT');
  });
});
