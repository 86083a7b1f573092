// `npm run bench:replicas`: live task events across replicas on one PostgreSQL. One task's
// events at R/s for S seconds go into replica A's real ingest (stored, acked to a scripted agent,
// announced on the pubsub); V WebSocket viewers on replica B get them, beside V viewers on A
// itself (the same path, without the replica hop). With --replicas 3, a third run spreads the V
// viewers round-robin over A, B and C (the figure: 1,000 events/s, 200 viewers).
//
//   npm run bench:replicas [-- --viewers 50] [--rate 100] [--seconds 5] [--replicas 2|3] [--sqlite]
//
// With --sqlite, one replica on SQLite only (the same path, MemoryPubsub). PostgreSQL at RC_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema
// of its own that is dropped at the end. Exits 1 when an event was lost or duplicated.
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { ScriptedAgent } from '../../test/support/scriptedAgent.js';
import { createTaskRow } from '../../test/support/taskRow.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { intFlag } from '../benchStats.js';
import { measureFanOut } from './fanOut.js';

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '50' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    sqlite: { type: 'boolean', default: false },
    replicas: { type: 'string', default: '2' },
  },
});
const REPLICAS = intFlag('replicas', values.replicas, 3, 2);
const VIEWERS = intFlag('viewers', values.viewers, 1000);
const RATE = intFlag('rate', values.rate, 10_000);
const SECONDS = intFlag('seconds', values.seconds, 60);

const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<number> {
  const a = await createTestApp(values.sqlite ? 'sqlite' : 'postgres');
  let b: TestApp | undefined;
  let c: TestApp | undefined;
  let agent: ScriptedAgent | undefined;
  try {
    if (!values.sqlite) b = await createTestApp('postgres', { sameStoreAs: a });
    if (!values.sqlite && REPLICAS === 3) c = await createTestApp('postgres', { sameStoreAs: a });
    const owner = await a.user('member');
    const auth = { authorization: await a.bearer(owner) };
    const wsUrl = async (t: TestApp) => {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      return `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    };
    const urls = { a: await wsUrl(a), b: b ? await wsUrl(b) : '', c: c ? await wsUrl(c) : '' };
    const first = await createTaskRow(a, owner.id);
    const workspaceId = (await a.services.tasks.byId(first))?.workspace_id as string;
    agent = await ScriptedAgent.connect(a, workspaceId);

    const run = async (on: 'a' | 'b' | 'spread') => {
      const task = await a.services.tasks.create({
        ownerId: owner.id,
        workspaceId,
        repository: 'https://example.test/repo',
        prompt: 'replica fan-out benchmark',
        permissionMode: 'default',
      });
      await a.services.tasks.transition(task.id, ['queued'], 'running', { status_reason: null });
      return measureFanOut({
        url: `${on === 'spread' ? urls.a : urls[on]}/api/v1/tasks/${task.id}/events`,
        ...(on === 'spread'
          ? { urls: [urls.a, urls.b, urls.c].map((u) => `${u}/api/v1/tasks/${task.id}/events`) }
          : {}),
        headers: auth,
        viewers: VIEWERS,
        rate: RATE,
        seconds: SECONDS,
        emit: (seq, line) =>
          a.services.runtime.hub.emit('notification', workspaceId, 'task.event', {
            taskId: task.id,
            seq,
            line,
          }),
      });
    };
    const same = await run('a');
    const cross = b ? await run('b') : undefined;
    const spread = c ? await run('spread') : undefined;
    const line = (r: typeof same) =>
      `p50 ${ms(r.lagMs.p50)}  p99 ${ms(r.lagMs.p99)}  max ${ms(r.lagMs.max)}  lost ${r.lost}  duplicated ${r.duplicated}  dropped ${r.dropped}  cut off and resumed ${r.cutOff}`;
    console.log(
      `\nreplica fan-out on ${values.sqlite ? 'SQLite' : 'PostgreSQL'}: ${RATE} events/s ingested on A, ${VIEWERS} WebSocket viewers, ${SECONDS} s (${same.sent} events, delivery lag)`,
    );
    console.log(`   viewers on A (ingesting replica)  ${line(same)}`);
    if (cross) {
      console.log(`   viewers on B (other replica)      ${line(cross)}`);
      console.log(`   added p99 by the replica hop: ${ms(cross.lagMs.p99 - same.lagMs.p99)}`);
    }
    if (spread) {
      console.log(`   viewers over A, B and C          ${line(spread)}`);
      console.log(`   spread p99 beside all on A: ${ms(spread.lagMs.p99)} vs ${ms(same.lagMs.p99)}`);
    }
    const intact = (r: typeof same) => r.lost === 0 && r.duplicated === 0 && r.dropped === 0;
    if (!intact(same) || (cross && !intact(cross)) || (spread && !intact(spread))) {
      console.log('\nFAILED: an event was lost, duplicated or its viewer dropped.');
      return 1;
    }
    return 0;
  } finally {
    agent?.close();
    await c?.close();
    await b?.close();
    await a.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
